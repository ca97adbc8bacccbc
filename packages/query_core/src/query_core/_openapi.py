"""The OpenAPI ``responses`` of the error table: description, schema, example, headers.

Built from ``ERROR_STATUSES`` so that the document and the answers cannot drift
(docs/contract.md#errors).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from query_core._answers import ERROR_STATUSES
from query_core._exceptions import (
    HTTPError,
    MethodNotAllowedError,
    RequestValidationError,
    UnauthorizedError,
)

__all__ = ["openapi_responses"]

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
    "WWW-Authenticate": {
        "description": "`CallerProof`: the proof the service asks for",
        "schema": {"type": "string"},
    },
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
            ("WWW-Authenticate", cls is UnauthorizedError),
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
