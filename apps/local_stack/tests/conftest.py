"""The local stack as real processes (``python -m local_stack``), started once per session."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from query_devstack import free_port


@dataclass
class Stack:
    external_url: str
    service_url: str
    internal_url: str
    dynamodb_url: str
    legacy_service_url: str
    log_dir: Path
    output: list[str]

    def log(self, part: str) -> str:
        return (self.log_dir / f"{part}.log").read_text()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log_dir = tmp_path_factory.mktemp("stack-logs")
    names = ("external", "service", "internal", "dynamodb", "legacy-service", "invoke")
    ports = {name: free_port() for name in names}
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack", "--log-dir", str(log_dir),
         *(arg for name, port in ports.items() for arg in (f"--{name}-port", str(port)))],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if line.strip() == "READY":
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    started = time.monotonic()
    if not ready.wait(60):
        process.kill()
        raise RuntimeError("the local stack did not start:\n" + "".join(output[-40:]))
    print(f"local stack ready in {time.monotonic() - started:.1f} s")
    yield Stack(
        external_url=f"http://127.0.0.1:{ports['external']}",
        service_url=f"http://127.0.0.1:{ports['service']}",
        internal_url=f"http://127.0.0.1:{ports['internal']}/prod",
        dynamodb_url=f"http://127.0.0.1:{ports['dynamodb']}",
        legacy_service_url=f"http://127.0.0.1:{ports['legacy-service']}",
        log_dir=log_dir,
        output=output,
    )
    process.terminate()
    process.wait(30)
    reader.join(5)
    assert process.stdout is not None
    process.stdout.close()
    assert process.returncode == 0, "".join(output[-20:])
