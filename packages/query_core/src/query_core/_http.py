"""HTTP rules that every front of the service applies the same way (docs/contract.md#public-api)."""

from __future__ import annotations

from typing import Final

__all__ = [
    "MAX_BODY_BYTES",
    "REQUEST_ID_HEADER",
    "RESULT_PATH",
    "RETIRED_MARKETING_DETAIL",
    "RETIRED_PATH",
    "clean_request_id",
    "is_json_media_type",
    "is_retired_path",
]

#: The largest request body any component accepts (docs/contract.md#query-result): 64 KiB.
MAX_BODY_BYTES: Final = 64 * 1024
RESULT_PATH: Final = "/query/result"
RETIRED_PATH: Final = "/query/marketing"
REQUEST_ID_HEADER: Final = "X-Request-Id"

#: The ``detail`` of every 410 on ``/query/marketing`` and below
#: (docs/contract.md#retired-marketing).
RETIRED_MARKETING_DETAIL: Final = (
    "The marketing-campaign query has been retired. Results are queried by user_id: "
    'POST /query/result with a JSON body such as {"user_id": "..."}.'
)


def is_retired_path(path: str) -> bool:
    """``/query/marketing`` itself or any path below it."""
    return path.rstrip("/") == RETIRED_PATH or path.startswith(RETIRED_PATH + "/")


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


_REQUEST_ID_OK: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:@/+="
)


def clean_request_id(value: str | None) -> str | None:
    """A caller's request id if it is safe to echo and log (1–128 plain characters), else None."""
    if value is None or not 0 < len(value) <= 128 or not set(value) <= _REQUEST_ID_OK:
        return None
    return value
