"""``rehearse instead: retired-path``: the runbook's check after ``retire-marketing``, sent to
the public API's local front instead of its HTTPS ``execute-api`` name.

docs/decisions/0015-runbook-rehearsal.md#the-access-log. The operator's ``curl`` asks for
``/query/marketing`` as the test identity; here the same request (and one below the path, the
``{proxy+}`` method) goes to stage ``prod``'s front as ``canaryTestUserId`` of the blocks'
context, and each must answer the contract's 410 with its ``{"detail": ...}``
(docs/contract.md#retired-marketing) from the alias ``live`` (the front's
``x-rehearsal-function``: here the old Query Lambda runs the repository's handler, which
answers 410 there too, so the status alone would not tell), while ``/query/result`` still
answers 200.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from rehearsal._local import post

__all__ = ["retired_path"]

_CHECKS = (
    ("/query/marketing", 410),
    ("/query/marketing/campaigns/c-1", 410),
    ("/query/result", 200),
)
#: The qualifier of the integrations retire-marketing writes.
_ALIAS = ":live"


def retired_path(public_url: str, context_file: Path) -> tuple[int, str]:
    """Each check's status through ``public_url`` (the stage's URL): exit 0 when all hold."""
    user = json.loads(context_file.read_text()).get("canaryTestUserId")
    if not user:
        return 1, f"{context_file} names no canaryTestUserId: no test identity to ask as"
    stage = urlsplit(public_url).path.rstrip("/")
    body = json.dumps({"user_id": user, "limit": 2}).encode()
    headers = {"authorization": user, "content-type": "application/json"}
    lines: list[str] = []
    failed = 0
    for path, want in _CHECKS:
        status, got, payload = post(public_url, f"{stage}{path}", body, headers)
        detail = ""
        if want == 410:
            try:
                detail = str(json.loads(payload).get("detail") or "")
            except (ValueError, AttributeError):
                detail = ""
        function = got.get("x-rehearsal-function", "?")
        on_alias = function.endswith(_ALIAS)
        ok = status == want and (want != 410 or (bool(detail) and on_alias))
        failed += not ok
        want_text = f"{want} with a detail from alias live" if want == 410 else str(want)
        mark = "ok" if ok else f"FAILED (want {want_text})"
        shown = f": {detail}" if detail else ""
        lines.append(f"POST {stage}{path} as {user}: {status}{shown} ({function})  {mark}")
    return (1 if failed else 0), "\n".join(lines)
