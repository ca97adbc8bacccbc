"""The one table that maps errors to HTTP answers (docs/contract.md#errors)."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from query_core import RequestError
from query_http_client import (
    CircuitOpenError,
    QueryClientError,
    UpstreamBadResponseError,
    UpstreamError,
    UpstreamMisconfiguredError,
    UpstreamRejectedError,
    UpstreamThrottledError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)

__all__ = ["register_error_handlers"]

_log = logging.getLogger("ecs_service.errors")

#: exception type -> (status, detail shown to the client, Retry-After seconds or None)
ERROR_TABLE: dict[type[Exception], tuple[int, str, int | None]] = {
    CircuitOpenError: (503, "the results service is failing; retry later", 1),
    UpstreamMisconfiguredError: (502, "the results service refused the call", None),
    UpstreamTimeoutError: (504, "the results service did not answer in time", None),
    UpstreamThrottledError: (503, "the results service is busy; retry later", 1),
    UpstreamUnavailableError: (503, "the results service is unavailable; retry later", 1),
    UpstreamBadResponseError: (502, "the results service answered something unusable", None),
}


def _json(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


async def _request_error(_: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestError | UpstreamRejectedError):  # pragma: no cover
        raise TypeError(type(exc).__name__)
    return _json(exc.status_code, exc.detail)


def _upstream(status: int, detail: str, retry_after: int | None) -> Callable[..., Awaitable[Any]]:
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        hint = getattr(exc, "retry_after", None)
        seconds = max(retry_after or 0, math.ceil(hint)) if hint else retry_after
        extra = {
            "status": status,
            "error": type(exc).__name__,
            "attempts": getattr(exc, "attempts", None),
            "upstream_status": getattr(exc, "status_code", None),
        }
        if isinstance(exc, UpstreamMisconfiguredError):
            _log.error(
                "the internal API refused the call (%s): likely cause: %s",
                exc.error_type,
                exc.likely_cause,
                extra=extra,
            )
        elif isinstance(exc, UpstreamError):
            _log.warning("upstream failure: %s", exc, extra=extra)
        headers = {"Retry-After": str(seconds)} if seconds is not None else None
        return _json(status, detail, headers)

    return handle


def register_error_handlers(app: FastAPI) -> None:
    """Register every row of the table, most specific first."""
    app.add_exception_handler(RequestError, _request_error)
    app.add_exception_handler(UpstreamRejectedError, _request_error)
    for exc_type, row in ERROR_TABLE.items():
        app.add_exception_handler(exc_type, _upstream(*row))
    app.add_exception_handler(
        QueryClientError, _upstream(502, ERROR_TABLE[UpstreamBadResponseError][1], None)
    )
    # Anything else: RequestIdMiddleware answers 500 {"detail": "internal error"}.
