"""The chain as a background process, for the tests, ``nox -s load`` and ``nox -s schemathesis``.

``BackgroundChain(command)`` starts ``python -m local_stack`` (or ``./nox -s serve --``) on
free ports in a process group of its own, as a terminal runs a foreground job, copies its
output, and knows when it printed READY. ``interrupt()`` sends SIGINT to the whole group,
as Ctrl-C does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from query_devstack import free_port

__all__ = ["PORT_NAMES", "BackgroundChain"]

#: The ``--NAME-port`` options of ``python -m local_stack``.
PORT_NAMES = ("external", "service", "internal", "dynamodb", "legacy-service", "invoke")


class BackgroundChain:
    """``python -m local_stack`` (by default) on free ports, in a process group of its own."""

    def __init__(
        self,
        command: Sequence[str] = (sys.executable, "-m", "local_stack"),
        *,
        args: Sequence[str] = (),
        ports: dict[str, int] | None = None,
        log: Path | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.ports = ports or {name: free_port() for name in PORT_NAMES}
        options = [a for name, port in self.ports.items() for a in (f"--{name}-port", str(port))]
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        self.process = subprocess.Popen(
            [*command, *options, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**env, "PYTHONUNBUFFERED": "1"},
            cwd=cwd,
            start_new_session=True,
        )
        self.output: list[str] = []
        self._log: IO[str] | None = log.open("w") if log else None
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout or ():
            self.output.append(line)
            if self._log is not None:
                self._log.write(line)
            if line.strip() == "READY":
                self._ready.set()

    def url(self, name: str, path: str = "") -> str:
        """``http://127.0.0.1:PORT`` of a part (the internal API with its stage), plus ``path``."""
        stage = "/prod" if name == "internal" else ""
        return f"http://127.0.0.1:{self.ports[name]}{stage}{path}"

    def wait_ready(self, timeout: float) -> None:
        """Return once the chain printed READY; else kill it and raise RuntimeError."""
        if not self._ready.wait(timeout):
            self.kill()
            raise RuntimeError("the chain did not start:\n" + "".join(self.output[-40:]))

    def interrupt(self) -> None:
        """SIGINT to the whole process group, as a terminal's Ctrl-C."""
        os.killpg(self.process.pid, signal.SIGINT)

    def finish(self, timeout: float = 30) -> int:
        """Wait for the exit, close the output; the exit status."""
        self.process.wait(timeout)
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        if self._log is not None:
            self._log.close()
        return self.process.returncode

    def stop(self, timeout: float = 30) -> int:
        """Ctrl-C, then wait for the exit."""
        self.interrupt()
        return self.finish(timeout)

    def kill(self) -> None:
        """SIGKILL to the group (the parts follow: they are tied to the chain's process)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.finish()
