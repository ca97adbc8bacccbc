"""The local stack as real processes (``python -m local_stack``), started once per session."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from local_stack.background import BackgroundChain


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
    chain = BackgroundChain(args=["--log-dir", str(log_dir)])
    started = time.monotonic()
    chain.wait_ready(60)
    print(f"local stack ready in {time.monotonic() - started:.1f} s")
    yield Stack(
        external_url=chain.url("external"),
        service_url=chain.url("service"),
        internal_url=chain.url("internal"),
        dynamodb_url=chain.url("dynamodb"),
        legacy_service_url=chain.url("legacy-service"),
        log_dir=log_dir,
        output=chain.output,
    )
    chain.process.terminate()
    assert chain.finish(30) == 0, "".join(chain.output[-20:])
