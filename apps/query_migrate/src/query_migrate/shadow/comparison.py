"""What a client of the public API would see differ between two answers.

Compared (docs/contract.md#public-api): the status, the body (as JSON when both parse), and the
headers the Query Lambda passes on (docs/contract.md#errors): ``Content-Type`` exactly,
``Retry-After`` present or absent (its value depends on timing), and ``X-Request-Id`` echoed by
each side (docs/contract.md#request-id). Every other header never reaches a client and is not
compared unless named with ``--compare-header``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from query_migrate.shadow.targets import Answer

__all__ = ["EXACT_HEADERS", "PRESENCE_HEADERS", "Difference", "body_diff", "compare", "pretty"]

#: Headers compared by value (a client of the public API sees them).
EXACT_HEADERS = ("content-type",)
#: Headers compared by presence only: their value legitimately differs between two answers.
PRESENCE_HEADERS = ("retry-after",)


@dataclass(frozen=True)
class Difference:
    """One way two answers differ; ``kind`` is what the summary counts by."""

    kind: str
    detail: str


def pretty(value: Any, raw: bytes) -> list[str]:
    if value is None and raw.strip() not in {b"null"}:
        return raw.decode(errors="replace").splitlines()
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def body_diff(old: Answer, new: Answer) -> list[str]:
    """A unified diff of the two bodies, pretty-printed JSON when they parse."""
    return list(
        difflib.unified_diff(
            pretty(old.json(), old.body),
            pretty(new.json(), new.body),
            fromfile="old",
            tofile="new",
            lineterm="",
            n=3,
        )
    )


def compare(
    old: Answer,
    new: Answer,
    *,
    old_id: str,
    new_id: str,
    compared_headers: Sequence[str] = (),
) -> list[Difference]:
    """What a client would see differ between the two answers (empty: they match)."""
    differences = []
    if old.status != new.status:
        differences.append(Difference("status", f"{old.status} vs {new.status}"))
    old_json, new_json = old.json(), new.json()
    if old_json is None or new_json is None:
        same_body = old.body == new.body
    else:
        same_body = old_json == new_json
    if not same_body:
        if (
            isinstance(old_json, dict)
            and isinstance(new_json, dict)
            and {**old_json, "next_token": None} == {**new_json, "next_token": None}
        ):
            differences.append(Difference("next_token", "the pages match; the tokens differ"))
        else:
            differences.append(Difference("body", _body_summary(old_json, new_json)))
    differences += [
        Difference(f"header {name}", f"{old.headers.get(name)} vs {new.headers.get(name)}")
        for name in (*EXACT_HEADERS, *(h.lower() for h in compared_headers))
        if old.headers.get(name) != new.headers.get(name)
    ]
    for name in PRESENCE_HEADERS:
        if (name in old.headers) != (name in new.headers):
            where = "old only" if name in old.headers else "new only"
            differences.append(Difference(f"header {name}", where))
    unechoed = [
        side
        for side, answer, sent in (("old", old, old_id), ("new", new, new_id))
        if answer.headers.get("x-request-id") != sent
    ]
    if unechoed:
        differences.append(Difference("x-request-id", f"not echoed by {' and '.join(unechoed)}"))
    return differences


def _body_summary(old: Any, new: Any) -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        return "fields differ: " + ", ".join(keys)
    return "bodies differ"
