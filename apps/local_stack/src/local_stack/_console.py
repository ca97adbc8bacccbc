"""How a part's log line is shown: as it is (JSON), or one readable line for a terminal.

The parts log JSON lines (docs/contract.md#request-id); the files under ``--log-dir``
always keep them as written. On a terminal each line becomes::

    20:25:10.883 query-result-lambda  POST /query/result 200 288.98 ms  req=b41fcb69-a43b-...
    20:25:12.942 query-result-lambda  INFO Finished server process [9595]
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, Literal

__all__ = ["Printer", "readable"]

type LogFormat = Literal["json", "text"]

#: Fields shown in the line itself, not repeated as key=value.
_SHOWN = frozenset(
    {
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "method",
        "path",
        "status",
        "duration_ms",
        "color_message",
    }
)
_WIDTH = 20


def readable(part: str, line: str) -> str:
    """One line for a terminal; a line that is not a JSON object is shown as it is."""
    try:
        record: Any = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict) or "message" not in record:
        return f"{'':12} {part:<{_WIDTH}} {line}"
    clock = str(record.get("time", ""))[11:23]
    if "status" in record and "path" in record:  # one request, as the part saw it
        text = f"{record.get('method', '')} {record['path']} {record['status']}"
        if "duration_ms" in record:
            text += f" {record['duration_ms']} ms"
    else:
        text = f"{record.get('level', '')} {record['message']}"
    extra = [f"{key}={value}" for key, value in record.items() if key not in _SHOWN]
    if record.get("request_id"):
        extra.append(f"req={record['request_id']}")
    return f"{clock:<12} {part:<{_WIDTH}} {text}" + ("  " + " ".join(extra) if extra else "")


class Printer:
    """Writes each part's lines to stdout, in ``json`` (as written) or ``text`` form."""

    def __init__(self, log_format: LogFormat) -> None:
        self._format = log_format
        self._lock = threading.Lock()

    def __call__(self, part: str, line: str) -> None:
        shown = readable(part, line) if self._format == "text" else f"[{part}] {line}"
        with self._lock:
            sys.stdout.write(shown + "\n")
            sys.stdout.flush()
