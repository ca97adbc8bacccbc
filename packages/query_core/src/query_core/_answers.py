"""The contract's error table as code: each status and the class that answers it.

``ERROR_STATUSES`` is the one table a service registers its exception handlers from, a
Lambda builds its proxy answer from (``query_core.events.error_response``), the OpenAPI
``responses`` are declared from (``_openapi``) and the public edge cleans upstream details
against (``_public_errors``). See docs/contract.md#errors.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    TooManyRequestsError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)

__all__ = ["ERROR_STATUSES", "error_answer"]

#: Every status of the contract's error table and the class of the tree that answers it.
ERROR_STATUSES: Final[Mapping[int, type[HTTPError]]] = MappingProxyType(
    {
        400: BadRequestError,
        401: UnauthorizedError,
        403: ForbiddenError,
        404: NotFoundError,
        405: MethodNotAllowedError,
        410: RetiredPathError,
        413: PayloadTooLargeError,
        415: UnsupportedMediaTypeError,
        422: RequestValidationError,
        429: TooManyRequestsError,
        502: BadGatewayError,
        503: ServiceUnavailableError,
        504: GatewayTimeoutError,
    }
)


def error_answer(exc: BaseException) -> tuple[int, dict[str, str], dict[str, Any]]:
    """``(status, headers, body)`` for any exception.

    An ``HTTPError`` answers its own status, ``{"detail": ...}`` and headers
    (``Retry-After``, ``Allow``); anything else is 500 ``{"detail": "internal error"}``,
    never its text.
    """
    if isinstance(exc, HTTPError):
        return exc.status_code, exc.headers, {"detail": exc.detail}
    return 500, {}, {"detail": INTERNAL_ERROR_DETAIL}
