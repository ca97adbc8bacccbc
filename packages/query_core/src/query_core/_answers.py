"""The contract's error table as code (docs/contract.md#errors).

One table, ``ERROR_STATUSES`` (status to its class of the error tree), from which

* a service registers its exception handlers (``error_answer`` answers any exception),
* a service declares its OpenAPI ``responses`` (``openapi_responses``),
* a Lambda builds its proxy answer (``query_core.events.error_response``),
* the public edge decides which upstream ``detail`` it may pass on (``public_error_body``),

and ``check_route`` is the routing of the public API (410, 404, 405) for fronts
without a router of their own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, Final

from query_core._exceptions import (
    INTERNAL_ERROR_DETAIL,
    BadGatewayError,
    BadRequestError,
    ForbiddenError,
    GatewayTimeoutError,
    HTTPError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    RequestValidationError,
    RetiredPathError,
    ServiceUnavailableError,
    UnsupportedMediaTypeError,
    error_classes,
)
from query_core._http import RESULT_PATH, is_retired_path

__all__ = [
    "ERROR_STATUSES",
    "check_route",
    "error_answer",
    "openapi_responses",
    "public_error_body",
    "public_error_detail",
]

#: Every status of the contract's error table and the class of the tree that answers it.
ERROR_STATUSES: Final[Mapping[int, type[HTTPError]]] = MappingProxyType(
    {
        400: BadRequestError,
        403: ForbiddenError,
        404: NotFoundError,
        405: MethodNotAllowedError,
        410: RetiredPathError,
        413: PayloadTooLargeError,
        415: UnsupportedMediaTypeError,
        422: RequestValidationError,
        502: BadGatewayError,
        503: ServiceUnavailableError,
        504: GatewayTimeoutError,
    }
)

#: The 422 detail answered when an upstream 422 is not in FastAPI's shape.
_GENERIC_VALIDATION_DETAIL: Final = [
    {"loc": ["body"], "msg": "the request body breaks the field rules", "type": "value_error"}
]


def error_answer(exc: BaseException) -> tuple[int, dict[str, str], dict[str, Any]]:
    """``(status, headers, body)`` for any exception.

    An ``HTTPError`` answers its own status, ``{"detail": ...}`` and headers
    (``Retry-After``, ``Allow``); anything else is 500 ``{"detail": "internal error"}``,
    never its text.
    """
    if isinstance(exc, HTTPError):
        return exc.status_code, exc.headers, {"detail": exc.detail}
    return 500, {}, {"detail": INTERNAL_ERROR_DETAIL}


def check_route(method: str, path: str) -> None:
    """Raise the answer of a request that is not ``POST /query/result``.

    ``RetiredPathError`` (410) on ``/query/marketing`` and below, whatever the method;
    ``NotFoundError`` (404) on any other path; ``MethodNotAllowedError`` (405) for
    another method on ``/query/result``.
    """
    if is_retired_path(path):
        raise RetiredPathError
    if path != RESULT_PATH:
        raise NotFoundError
    if method.upper() != "POST":
        raise MethodNotAllowedError(("POST",))


_STRING_DETAIL_SCHEMA: Final = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "string"}},
}
_VALIDATION_DETAIL_SCHEMA: Final = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    },
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        }
    },
}
_HEADER_DOCS: Final = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 1},
    },
    "Allow": {"description": "The methods the path takes", "schema": {"type": "string"}},
}


def _response_doc(cls: type[HTTPError]) -> dict[str, Any]:
    if cls is RequestValidationError:
        media: dict[str, Any] = {"schema": _VALIDATION_DETAIL_SCHEMA}
    else:
        media = {"schema": _STRING_DETAIL_SCHEMA, "example": {"detail": cls.details[0]}}
    doc: dict[str, Any] = {
        "description": cls.description,
        "content": {"application/json": media},
    }
    headers = [
        name
        for name, applies in (
            ("Retry-After", cls.default_retry_after is not None),
            ("Allow", cls is MethodNotAllowedError),
        )
        if applies
    ]
    if headers:
        doc["headers"] = {name: _HEADER_DOCS[name] for name in headers}
    return doc


def openapi_responses(statuses: Iterable[int] | None = None) -> dict[int | str, dict[str, Any]]:
    """FastAPI's ``responses=`` for the given statuses (all of the table by default).

    Each names the contract's description, the ``{"detail": ...}`` schema (FastAPI's
    validation list for 422) with an example, and the headers the status carries.
    """
    chosen = ERROR_STATUSES if statuses is None else {s: ERROR_STATUSES[s] for s in statuses}
    return {status: _response_doc(cls) for status, cls in sorted(chosen.items())}


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
