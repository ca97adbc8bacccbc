"""Helpers for the tests of code that logs through ``query_core`` (as ``structlog.testing``).

``capture_json_logs()`` adds a handler with ``JsonFormatter`` to the root logger for
the duration of a ``with`` block and gives back the lines as parsed JSON objects, so
that a test asserts on what an operator would read (the request id included).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from query_core._logging import JsonFormatter

__all__ = ["JsonLogs", "capture_json_logs"]


class JsonLogs:
    """The JSON lines logged so far."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def lines(self) -> list[dict[str, Any]]:
        """Every line, parsed, in order."""
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def with_message(self, message: str) -> list[dict[str, Any]]:
        """The lines whose ``message`` is ``message``."""
        return [line for line in self.lines if line["message"] == message]


@contextmanager
def capture_json_logs(level: int = logging.INFO) -> Iterator[JsonLogs]:
    """Capture records of ``level`` and above as JSON lines while the block runs.

    The root logger is set to ``level`` for the block, whatever logging was set up
    before, and restored after.
    """
    logs = JsonLogs()
    handler = logging.StreamHandler(logs.stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.setLevel(level)
    root.addHandler(handler)
    try:
        yield logs
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
