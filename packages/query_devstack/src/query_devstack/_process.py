"""Local server processes: free ports, the one readiness loop, and children that die with us.

``wait_listening`` is the readiness check every local server shares (the emulator here,
each part of ``nox -s serve``): poll a TCP connect on 127.0.0.1 until it succeeds, the
process exits, or the deadline passes.

``orphan_safe`` prefixes a command with a tiny launcher (``python -m query_devstack._guard``)
that asks Linux to send the child SIGTERM when its parent dies, even by SIGKILL
(``prctl(PR_SET_PDEATHSIG)``), and then ``exec``\\ s the command: no extra process stays.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Self

__all__ = [
    "Background",
    "ChildServer",
    "free_port",
    "orphan_safe",
    "port_is_free",
    "wait_listening",
]

_HOST = "127.0.0.1"


class Background:
    """A local server used as a context manager: ``start()`` on entry, ``stop()`` on exit."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((_HOST, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = _HOST) -> bool:
    """Whether a server could bind ``port`` now, judged as uvicorn binds (``SO_REUSEADDR``).

    A port whose last connections sit in TIME_WAIT after a clean stop counts as free,
    as it does for uvicorn; a port something listens on does not.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def wait_listening(
    port: int,
    *,
    name: str,
    process: subprocess.Popen[bytes] | None = None,
    timeout: float | None = None,
    deadline: float | None = None,
) -> None:
    """Return once something accepts TCP connections on 127.0.0.1:``port``.

    Raises ``RuntimeError`` naming ``name`` when ``process`` exits first or when the
    deadline (``time.monotonic()`` based; or ``timeout`` seconds from now) passes.
    """
    if deadline is None:
        deadline = time.monotonic() + (20.0 if timeout is None else timeout)
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode}")
        try:
            with socket.create_connection((_HOST, port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() >= deadline:
                raise RuntimeError(f"{name} did not listen on port {port} in time") from None
            time.sleep(0.05)


def orphan_safe(command: Sequence[str]) -> list[str]:
    """``command`` run so that it gets SIGTERM when the process starting it dies.

    Start the result from the thread that stays alive (Linux ties the signal to the
    parent thread). Elsewhere than Linux the command runs unchanged.
    """
    if not sys.platform.startswith("linux"):
        return list(command)
    return [sys.executable, "-m", "query_devstack._guard", str(os.getpid()), *command]


class ChildServer(Background):
    """A server run as a child process on 127.0.0.1 that dies with its starter (``orphan_safe``).

    Subclasses give ``command()``; ``start()`` waits until the port accepts connections and
    ``stop()`` terminates the process, then kills it after 5 s.
    """

    name = "a local server"

    def __init__(
        self,
        port: int | None,
        *,
        startup_timeout: float,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.endpoint_url = f"http://{_HOST}:{self.port}"
        self._startup_timeout = startup_timeout
        self._env = env
        self._cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        """Start the process and wait until it accepts connections."""
        self._process = subprocess.Popen(
            orphan_safe(self.command()),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self._env,
            cwd=self._cwd,
        )
        try:
            wait_listening(
                self.port, name=self.name, process=self._process, timeout=self._startup_timeout
            )
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 5 s)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
