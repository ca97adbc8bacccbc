"""HTTP rules that every front of the service applies the same way (docs/contract.md#public-api)."""

from __future__ import annotations

import re
import uuid
from typing import Final

__all__ = [
    "CALLER_ID_HEADER",
    "FOREIGN_EVENT_DETAIL",
    "MAX_BODY_BYTES",
    "REQUEST_ID_HEADER",
    "RESULT_PATH",
    "RETIRED_MARKETING_DETAIL",
    "RETIRED_PATH",
    "clean_caller_id",
    "clean_request_id",
    "is_json_media_type",
    "is_public_path",
    "is_retired_path",
    "resolve_request_id",
]

#: The largest request body any component accepts (docs/contract.md#query-result): 64 KiB.
MAX_BODY_BYTES: Final = 64 * 1024
RESULT_PATH: Final = "/query/result"
RETIRED_PATH: Final = "/query/marketing"
#: docs/contract.md#request-id
REQUEST_ID_HEADER: Final = "X-Request-Id"
#: The authenticated caller's identity, set by the Query Lambda from the authorizer's
#: context only (docs/contract.md#ownership).
CALLER_ID_HEADER: Final = "X-Caller-Id"

#: The ``detail`` of every 410 on ``/query/marketing`` and below
#: (docs/contract.md#retired-marketing).
RETIRED_MARKETING_DETAIL: Final = (
    "The marketing-campaign query has been retired. Results are queried by user_id: "
    'POST /query/result with a JSON body such as {"user_id": "..."}.'
)
#: The Query Lambda's 403 to an event whose ``requestContext.apiId`` is not its public
#: API's (docs/contract.md#side-doors).
FOREIGN_EVENT_DETAIL: Final = "the event does not come from this function's API"


def is_retired_path(path: str) -> bool:
    """``/query/marketing`` itself or any path below it."""
    return path.rstrip("/") == RETIRED_PATH or path.startswith(RETIRED_PATH + "/")


#: Where a URL's path ends: its query or its fragment begins (RFC 3986, section 3.3).
_PATH_END: Final = re.compile(r"[?#]")


def _remove_dot_segments(path: str) -> str:
    """``path`` with its ``.`` and ``..`` segments resolved, as an HTTP client sends it.

    RFC 3986's section 5.2.4 as urllib3 implements it (the Query Lambda's client), so
    that what is judged here is exactly what is sent.
    """
    kept: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    if path.startswith("/") and (not kept or kept[0]):
        kept.insert(0, "")
    if path.endswith(("/.", "/..")):
        kept.append("")  # "/a/b/.." is "/a/", a directory
    return "/".join(kept)


def is_public_path(path: str) -> bool:
    """The paths the public edge forwards: ``/query/result`` and the retired ones.

    ``/health``, ``/docs``, ``/openapi.json`` and anything else stay private. The path is
    judged as an HTTP client sends it: cut at its first ``?`` or ``#`` (the query and the
    fragment; ``/health?/../query/result`` sends ``/health``), then with its ``.`` and ``..``
    segments resolved (RFC 3986; urllib3 does both before sending):
    ``/query/marketing/../../health`` is ``/health``.
    """
    resolved = _remove_dot_segments(_PATH_END.split(path, maxsplit=1)[0])
    return resolved == RESULT_PATH or is_retired_path(resolved)


def is_json_media_type(content_type: str | None) -> bool:
    """Whether a Content-Type names JSON (``application/json`` or ``application/*+json``).

    A missing Content-Type counts as JSON, as FastAPI treats it.
    """
    if content_type is None or not content_type.strip():
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


#: Characters of a request id that are safe in a header, a log line and a URL.
_REQUEST_ID_OK: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:@/+="
)
_REQUEST_ID_MAX: Final = 128


def clean_request_id(value: object) -> str | None:
    """A request id if it is safe to echo and log (1–128 plain characters), else None.

    Surrounding blanks are dropped; anything else outside the safe set refuses the value.
    """
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not 0 < len(value) <= _REQUEST_ID_MAX or not set(value) <= _REQUEST_ID_OK:
        return None
    return value


def resolve_request_id(caller: object, platform: object = None) -> str:
    """The id of a request, the one rule of docs/contract.md#request-id.

    The caller's ``X-Request-Id`` when it is clean, else the platform's id (API
    Gateway's ``requestContext.requestId``, or the Lambda's own request id when the
    event has none) when it is clean, else a new id. Generated ids have one format,
    the canonical UUID4 text (``str(uuid.uuid4())``), the format API Gateway and
    Lambda use for theirs.
    """
    return clean_request_id(caller) or clean_request_id(platform) or str(uuid.uuid4())


_CALLER_ID_MAX: Final = 256


def clean_caller_id(value: object) -> str | None:
    """An authorizer's identity value if it is safe in a header (1–256 visible ASCII), else None.

    Strings and integers are taken (a Lambda authorizer's context may hold numbers);
    anything with a blank, a control or a non-ASCII character is refused, not repaired.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    if not 0 < len(text) <= _CALLER_ID_MAX or not all("!" <= char <= "~" for char in text):
        return None
    return text
