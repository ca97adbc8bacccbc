"""The service's exception handlers, built from the one error table (docs/contract.md#errors).

Every error the service answers is a class of ``query_core``'s error tree, the results
client's errors included (an ``UpstreamTimeoutError`` is a ``GatewayTimeoutError``), so
``query_core.error_answer`` gives each its status, ``{"detail": ...}`` and headers. The
router's own 404 and 405 are answered as the tree's ``NotFoundError`` and
``MethodNotAllowedError``. This module adds only the log line of an upstream failure.
Anything else is answered 500 by ``RequestIdMiddleware``. ``ERROR_HANDLERS`` is the one table:
FastAPI's exception handlers and the hot route's dispatcher (``ecs_service.hot_route``) use it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Final

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from query_core import (
    HTTPError,
    MethodNotAllowedError,
    NotFoundError,
    RetiredPathError,
    error_answer,
    is_retired_path,
)
from query_http_client import (
    UpstreamError,
    UpstreamMisconfiguredError,
    UpstreamTooManyRequestsError,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["ERROR_HANDLERS", "ErrorHandler", "register_error_handlers"]

type ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]

_log = logging.getLogger("ecs_service.errors")


def _answer(error: BaseException) -> JSONResponse:
    status, headers, body = error_answer(error)
    return JSONResponse(body, status_code=status, headers=headers)


async def _http_error(_: Request, exc: Exception) -> Response:
    if isinstance(exc, UpstreamError):
        extra = {
            "status": exc.status_code,
            "error": type(exc).__name__,
            "attempts": exc.attempts,
            "upstream_status": exc.upstream_status,
        }
        if isinstance(exc, UpstreamMisconfiguredError):
            _log.error(
                "the internal API refused the call (%s): likely cause: %s",
                exc.error_type,
                exc.likely_cause,
                extra=extra,
            )
        else:
            _log.warning("upstream failure: %s", exc, extra=extra)
    elif isinstance(exc, UpstreamTooManyRequestsError):  # one user's pace, not a failure
        _log.info(
            "upstream throttled this user's reads",
            extra={"status": exc.status_code, "error": type(exc).__name__, "attempts": 1},
        )
    return _answer(exc)


async def _router_error(request: Request, exc: Exception) -> Response:
    """The router's 404 and 405 as the tree's classes; anything else as FastAPI would."""
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for it
    if exc.status_code == NotFoundError.status_code:
        # A path below /query/marketing that the router's `{rest:path}` cannot match (one
        # holding a newline, %0A: found by schemathesis) is retired all the same: 410.
        if is_retired_path(request.url.path):
            return _answer(RetiredPathError())
        return _answer(NotFoundError())
    if exc.status_code == MethodNotAllowedError.status_code:
        allow = (exc.headers or {}).get("Allow", "")
        return _answer(MethodNotAllowedError(tuple(m.strip() for m in allow.split(",") if m)))
    return await http_exception_handler(request, exc)


#: The answer to each exception, by class (the nearest in its MRO): one handler for the whole
#: error tree, and the router's own answers.
ERROR_HANDLERS: Final[Mapping[type[Exception], ErrorHandler]] = MappingProxyType(
    {HTTPError: _http_error, StarletteHTTPException: _router_error}
)


def register_error_handlers(app: FastAPI) -> None:
    """``ERROR_HANDLERS`` as the app's exception handlers."""
    for exception, handler in ERROR_HANDLERS.items():
        app.add_exception_handler(exception, handler)
