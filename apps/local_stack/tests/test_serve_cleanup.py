"""`nox -s serve` stopped as a terminal stops it, and `local_stack` killed outright: nothing stays.

A terminal's Ctrl-C sends SIGINT to the whole foreground process group (./nox, nox and
local_stack alike); nox then signals local_stack again while it stops. Each test looks
for every process under the one it started, stops it, and asserts within 15 s that no
part is alive and every port is free, as the next `serve` needs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from query_devstack import free_port, port_is_free

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[3]
NAMES = ("external", "service", "internal", "dynamodb", "legacy-service", "invoke")
STOPPED_WITHIN = 15.0


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


class Serve:
    """One `serve` run: its process, its output, and the processes under it once ready."""

    def __init__(self, command: list[str], ports: dict[str, int]) -> None:
        self.ports = ports
        args = [a for name, port in ports.items() for a in (f"--{name}-port", str(port))]
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        self.process = subprocess.Popen(
            [*command, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**env, "PYTHONUNBUFFERED": "1"},
            cwd=ROOT,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
        self.output: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if line.strip() == "READY":
                self._ready.set()

    def wait_ready(self, timeout: float) -> set[int]:
        if not self._ready.wait(timeout):
            self.kill()
            raise AssertionError("serve did not start:\n" + "".join(self.output[-40:]))
        return descendants(self.process.pid)

    def gone_within(self, pids: set[int], seconds: float) -> float:
        """Seconds until no pid is alive and no port listens; fails after ``seconds``."""
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            living = {pid for pid in pids if alive(pid)}
            busy = {port for port in self.ports.values() if listening(port)}
            if not living and not busy:
                return time.monotonic() - started
            time.sleep(0.1)
        raise AssertionError(
            f"after {seconds} s: alive {sorted(living)}, listening {sorted(busy)}\n"
            + "".join(self.output[-30:])
        )

    def finish(self) -> None:
        self.process.wait(30)
        self._reader.join(5)
        assert self.process.stdout is not None
        self.process.stdout.close()

    def kill(self) -> None:
        for pid in descendants(self.process.pid) | {self.process.pid}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.finish()


def _ports() -> dict[str, int]:
    return {name: free_port() for name in NAMES}


def test_ctrl_c_twice_on_nox_serve_stops_everything_and_serve_starts_again_at_once():
    ports = _ports()
    nox = [str(ROOT / "nox"), "-s", "serve", "--"]
    first = Serve(nox, ports)
    pids = first.wait_ready(300)  # the first run may create the session's virtualenv
    assert len(pids) >= 7, pids  # local_stack and its six parts (and nox's own)
    os.killpg(first.process.pid, signal.SIGINT)
    time.sleep(0.3)
    os.killpg(first.process.pid, signal.SIGINT)  # an impatient second Ctrl-C
    took = first.gone_within(pids, STOPPED_WITHIN)
    first.finish()
    print(f"serve stopped in {took:.1f} s")
    assert "stopping ..." in "".join(first.output)
    assert all(port_is_free(port) for port in ports.values())

    again = Serve(nox, ports)  # the same ports, at once
    pids = again.wait_ready(120)
    os.killpg(again.process.pid, signal.SIGINT)
    again.gone_within(pids, STOPPED_WITHIN)
    again.finish()
    assert "stopped (" in "".join(again.output)


def test_parts_stop_when_local_stack_is_killed_outright():
    serve = Serve([sys.executable, "-m", "local_stack"], _ports())
    pids = serve.wait_ready(120)
    assert len(pids) == 6, pids
    os.kill(serve.process.pid, signal.SIGKILL)  # no chance to stop anything itself
    serve.gone_within(pids, STOPPED_WITHIN)
    serve.finish()


def test_a_port_in_use_is_refused_with_its_name():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = {**_ports(), "internal": port}
        args = [a for name, number in ports.items() for a in (f"--{name}-port", str(number))]
        result = subprocess.run(
            [sys.executable, "-m", "local_stack", "--once", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert f"port {port} (internal API) is in use" in result.stderr
