"""Starting, watching and stopping the parts, apart from the command line.

Each part runs in a session of its own (a Ctrl-C in the terminal reaches only us, and
we stop the parts in order), tied to this process by ``query_devstack.orphan_safe``
(if we die, even by SIGKILL, each part gets SIGTERM). ``Supervisor.stop_all`` stops
them in reverse start order within one overall bound, killing what outlives it.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Final

from query_devstack import orphan_safe, wait_listening

from local_stack._topology import Part

__all__ = ["STOP_BOUND_SECONDS", "Running", "Supervisor"]

#: At most this long from the first SIGTERM to the last part gone.
STOP_BOUND_SECONDS: Final = 12.0

type Sink = Callable[[str, str], None]


class Running:
    """A started part: its process and the thread that copies its output."""

    def __init__(
        self, part: Part, process: subprocess.Popen[bytes], pump: threading.Thread
    ) -> None:
        self.part = part
        self.process = process
        self._pump = pump

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, deadline: float) -> None:
        """SIGTERM, wait up to its grace (or the deadline, if sooner), then SIGKILL."""
        if self.alive:
            self.process.terminate()
        wait = max(0.0, min(self.part.grace, deadline - time.monotonic()))
        try:
            self.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._pump.join(1)


class Supervisor:
    """Starts parts in order and stops every one it started, in reverse order."""

    def __init__(
        self, base_env: Mapping[str, str], sink: Sink, log_dir: Path | None = None
    ) -> None:
        self._base_env = dict(base_env)
        self._sink = sink
        self._log_dir = log_dir
        self.running: list[Running] = []

    def start(self, part: Part) -> Running:
        """Start a part (do not wait for it)."""
        process = subprocess.Popen(
            orphan_safe(part.command),
            env={**os.environ, **self._base_env, **part.env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log = (self._log_dir / f"{part.name}.log").open("ab") if self._log_dir else None
        pump = threading.Thread(
            target=_pump,
            args=(part.name, process.stdout, log, self._sink if part.shown else None),
            daemon=True,
        )
        pump.start()
        running = Running(part, process, pump)
        self.running.append(running)
        return running

    def wait_ready(self, running: Running, deadline: float) -> None:
        """Return once the part accepts connections; RuntimeError if it exits or is late."""
        wait_listening(
            running.part.port, name=running.part.name, process=running.process, deadline=deadline
        )

    def first_exited(self) -> Running | None:
        """A part that has exited, if any."""
        return next((r for r in self.running if not r.alive), None)

    def stop_all(self, bound: float = STOP_BOUND_SECONDS) -> float:
        """Stop every started part, last started first, all within ``bound`` seconds.

        Returns the seconds it took.
        """
        started = time.monotonic()
        deadline = started + bound
        for running in reversed(self.running):
            running.stop(deadline)
        return time.monotonic() - started


def _pump(name: str, stream: IO[bytes] | None, log: IO[bytes] | None, sink: Sink | None) -> None:
    if stream is None:
        return
    try:
        for line in iter(stream.readline, b""):
            if log is not None:
                log.write(line)
                log.flush()
            if sink is not None:
                sink(name, line.decode(errors="replace").rstrip("\n"))
    finally:
        stream.close()
        if log is not None:
            log.close()
