"""The requests ``shadow`` sends: JSON lines given as they are, or one page request per user."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from query_migrate._errors import MigrateError

__all__ = ["read_lines", "request_bodies"]


def read_lines(path: str) -> list[str]:
    """The non-blank lines of a file, or of stdin for ``-``."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise MigrateError(f"{path}: {exc.strerror}") from exc
    return [line.strip() for line in text.splitlines() if line.strip()]


def request_bodies(
    *,
    bodies: str | None = None,
    users: str | None = None,
    limit: int = 20,
    ap_id: str | None = None,
    repeat: int = 1,
) -> list[bytes]:
    """The bodies of ``--bodies FILE`` or one page request per user of ``--users FILE``
    (exactly one of them), the whole input ``repeat`` times."""
    if (bodies is None) == (users is None):
        raise MigrateError("give exactly one of --bodies FILE and --users FILE")
    if bodies is not None:
        lines = read_lines(bodies)
    else:
        lines = [
            json.dumps({"user_id": user, "limit": limit, **({"ap_id": ap_id} if ap_id else {})})
            for user in read_lines(str(users))
        ]
    if not lines:
        raise MigrateError("no requests to send: the input is empty")
    return [line.encode() for line in lines] * repeat
