"""What the public edge may pass on of an upstream error answer.

An upstream ``detail`` goes through only when it is one the contract gives for its status
(the texts of the error tree, or FastAPI's validation list for 422); anything else becomes
that status's generic detail (docs/contract.md#errors).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, Final

from query_core._answers import ERROR_STATUSES
from query_core._exceptions import INTERNAL_ERROR_DETAIL, RequestValidationError, error_classes

__all__ = ["public_error_body", "public_error_detail"]

#: The 422 detail answered when an upstream 422 is not in FastAPI's shape.
_GENERIC_VALIDATION_DETAIL: Final = [
    {"loc": ["body"], "msg": "the request body breaks the field rules", "type": "value_error"}
]


@cache
def _known_details() -> Mapping[int, frozenset[str]]:
    known: dict[int, set[str]] = {500: {INTERNAL_ERROR_DETAIL}}
    for cls in error_classes():
        known.setdefault(cls.status_code, set()).update(cls.details)
    return MappingProxyType({status: frozenset(texts) for status, texts in known.items()})


def _is_validation_detail(detail: Any) -> bool:
    return (
        isinstance(detail, list)
        and len(detail) > 0
        and all(
            isinstance(entry, dict)
            and isinstance(entry.get("loc"), list)
            and all(isinstance(part, str | int) for part in entry["loc"])
            and isinstance(entry.get("msg"), str)
            and isinstance(entry.get("type"), str)
            for entry in detail
        )
    )


def _generic_detail(status: int) -> Any:
    if status == RequestValidationError.status_code:
        return _GENERIC_VALIDATION_DETAIL
    cls = ERROR_STATUSES.get(status)
    if cls is not None:
        return cls.details[0]
    if status == 500:
        return INTERNAL_ERROR_DETAIL
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


def public_error_detail(status: int, detail: Any) -> Any:
    """``detail`` if it is one the contract gives for ``status``, else that status's generic one.

    The contract's own details are the texts of the error tree's classes of that
    status, and for 422 FastAPI's validation list (``loc``, ``msg``, ``type``). Anything
    else (an upstream's own wording, a proxy's page) is replaced, so that no text the
    contract does not name reaches a client.
    """
    if status == RequestValidationError.status_code:
        return detail if _is_validation_detail(detail) else _GENERIC_VALIDATION_DETAIL
    if isinstance(detail, str) and detail in _known_details().get(status, frozenset()):
        return detail
    return _generic_detail(status)


def public_error_body(status: int, body: bytes) -> bytes:
    """An upstream error answer's body as the public edge may send it on.

    ``body`` is kept byte for byte when it is ``{"detail": d}`` with ``d`` the
    contract's own for ``status``; otherwise it becomes ``{"detail": <generic>}``.
    """
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and set(parsed) == {"detail"}:
        detail = public_error_detail(status, parsed["detail"])
        if detail is parsed["detail"]:
            return body
    else:
        detail = _generic_detail(status)
    return json.dumps({"detail": detail}, separators=(",", ":"), ensure_ascii=False).encode()
