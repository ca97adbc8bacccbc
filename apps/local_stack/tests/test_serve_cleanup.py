"""`nox -s serve` stopped as a terminal stops it, and `local_stack` killed outright: nothing stays.

A terminal's Ctrl-C sends SIGINT to the whole foreground process group (./nox, nox and
local_stack alike); nox then signals local_stack again while it stops. Each test looks
for every process under the one it started, stops it, and asserts within 15 s that no
part is alive and every port is free, as the next `serve` needs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from local_stack.background import PORT_NAMES, BackgroundChain
from query_devstack import dynamodb_local_home, free_port, port_is_free

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[3]
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


def gone_within(chain: BackgroundChain, pids: set[int], seconds: float) -> float:
    """Seconds until no pid is alive and no port listens; fails after ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        living = {pid for pid in pids if alive(pid)}
        busy = {port for port in chain.ports.values() if listening(port)}
        if not living and not busy:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(
        f"after {seconds} s: alive {sorted(living)}, listening {sorted(busy)}\n"
        + "".join(chain.output[-30:])
    )


def test_ctrl_c_twice_on_nox_serve_stops_everything_and_serve_starts_again_at_once():
    nox = [str(ROOT / "nox"), "-s", "serve", "--"]
    first = BackgroundChain(nox, cwd=ROOT)
    first.wait_ready(300)  # the first run may create the session's virtualenv
    pids = descendants(first.process.pid)
    assert len(pids) >= 7, pids  # local_stack and its six parts (and nox's own)
    first.interrupt()
    time.sleep(0.3)
    first.interrupt()  # an impatient second Ctrl-C
    took = gone_within(first, pids, STOPPED_WITHIN)
    first.finish()
    print(f"serve stopped in {took:.1f} s")
    assert "stopping ..." in "".join(first.output)
    assert all(port_is_free(port) for port in first.ports.values())

    again = BackgroundChain(nox, ports=first.ports, cwd=ROOT)  # the same ports, at once
    again.wait_ready(120)
    pids = descendants(again.process.pid)
    again.interrupt()
    gone_within(again, pids, STOPPED_WITHIN)
    again.finish()
    assert "stopped (" in "".join(again.output)


def _dynamodb_local() -> list[str]:
    # `nox -s tests` installs the jar from apps/local_stack/package-lock.json and says where.
    node_modules = os.environ.get("QUERY_TEST_NODE_MODULES", ROOT / "apps/local_stack/node_modules")
    return ["--dynamodb-local", str(dynamodb_local_home(Path(node_modules)))]


@pytest.mark.parametrize("emulator", ["moto", "dynamodb-local"])
def test_parts_stop_when_local_stack_is_killed_outright(emulator):
    chain = BackgroundChain(args=_dynamodb_local() if emulator == "dynamodb-local" else [])
    chain.wait_ready(120)
    pids = descendants(chain.process.pid)
    assert len(pids) == 6, pids
    os.kill(chain.process.pid, signal.SIGKILL)  # no chance to stop anything itself
    gone_within(chain, pids, STOPPED_WITHIN)
    chain.finish()


def test_a_port_in_use_is_refused_with_its_name():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = {**{name: free_port() for name in PORT_NAMES}, "internal": port}
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
