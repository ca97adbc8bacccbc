"""moto's server on 127.0.0.1, in a thread of this process or as a process of its own
(and dynalite's command): docs/decisions/0001-dynamodb-emulators.md."""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mypy_boto3_dynamodb.client import DynamoDBClient

from query_devstack._process import Background, ChildServer

__all__ = [
    "LOCAL_REGION",
    "DynamoDBEmulator",
    "EmulatorProcess",
    "dynalite_command",
    "dynamodb_client",
    "moto_command",
]

#: Credentials and region the emulator accepts; they never leave 127.0.0.1.
LOCAL_REGION = "us-east-1"
_LOCAL_KEY = "testing"


def moto_command(port: int) -> list[str]:
    """The command line of moto's server on 127.0.0.1:``port``."""
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


def dynalite_command(node: str, script: str, port: int) -> list[str]:
    """The command line of dynalite (in memory) on 127.0.0.1:``port``.

    ``script`` is its ``cli.js`` (or ``node_modules/.bin/dynalite``), run by ``node``.
    dynalite is a DynamoDB emulator on LevelDB (in memory without ``--path``) whose
    ``Query`` costs a few milliseconds where moto's costs tens.
    """
    # Tables become ACTIVE at once (boto3's table_exists waiter would otherwise sleep 20 s).
    return [node, script, "--host", "127.0.0.1", "--port", str(port), "--createTableMs", "0"]


def dynamodb_client(endpoint_url: str, *, region: str = LOCAL_REGION) -> DynamoDBClient:
    """A boto3 DynamoDB client for an emulator, with the emulator's dummy credentials."""
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=region,
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
        aws_access_key_id=_LOCAL_KEY,
        aws_secret_access_key=_LOCAL_KEY,
    )


class DynamoDBEmulator(Background):
    """moto's server in a thread of this process, serving HTTP on 127.0.0.1.

    Use it as a context manager; ``endpoint_url`` is set while it runs.
    """

    def __init__(self, port: int = 0) -> None:
        from moto.server import ThreadedMotoServer

        # werkzeug logs a line per request; the emulator's traffic is not news.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.endpoint_url = ""

    def start(self) -> None:
        """Serve in a thread; ``endpoint_url`` is set once it listens."""
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()


class EmulatorProcess(ChildServer):
    """moto's server as a child process (``python -m moto.server``) on 127.0.0.1."""

    name = "moto's server"

    def __init__(
        self,
        port: int | None = None,
        *,
        startup_timeout: float = 20.0,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        """``settings``: moto's own environment settings for the server (e.g.
        ``MOTO_ECS_SERVICE_RUNNING``), over this process's environment."""
        super().__init__(port, startup_timeout=startup_timeout)
        self._env = {**os.environ, **(settings or {}), "MOTO_PORT": str(self.port)}

    def command(self) -> list[str]:
        return moto_command(self.port)
