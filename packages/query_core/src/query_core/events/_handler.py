"""The one Lambda handler skeleton: decode → request id → logging context → dispatch → answer.

Both Lambdas are a ``LambdaHandler`` with their own ``dispatch``: the Query Lambda
forwards the request to the service, the Query Result Lambda reads a page. Everything
around that is here, once: the request-id rule (``resolve_request_id``), the request
id in every log line beside the platform's own ids (API Gateway's and Lambda's, which
no client chooses), one access line per request, and the error answer of any
exception (``error_response``), a traceback logged only for unexpected ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, Final

from query_core._exceptions import (
    DependencyError,
    HTTPError,
    PayloadTooLargeError,
    UnsupportedEventError,
    UnsupportedMediaTypeError,
)
from query_core._http import (
    MAX_BODY_BYTES,
    REQUEST_ID_HEADER,
    clean_request_id,
    is_json_media_type,
    resolve_request_id,
)
from query_core._logging import platform_ids_var, request_id_var
from query_core._routing import check_route
from query_core.events._decode import decode_event
from query_core.events._request import (
    EventSource,
    LambdaContext,
    LambdaRequest,
    error_response,
)

if TYPE_CHECKING:
    from query_core._models import QueryRequest

__all__ = ["Dispatch", "LambdaHandler", "read_query_request"]

#: Answers one decoded request (a proxy response), or raises an error of the tree.
type Dispatch = Callable[[LambdaRequest, str, LambdaContext], dict[str, Any]]

_ALL_SOURCES: Final[frozenset[EventSource]] = frozenset({"rest_v1", "http_v2", "direct"})


def _client_context_request_id(context: LambdaContext) -> str | None:
    """The caller's request id from an ``Invoke``'s ClientContext (the legacy source sends it)."""
    custom = getattr(getattr(context, "client_context", None), "custom", None)
    if isinstance(custom, dict):
        return clean_request_id(custom.get("request_id"))
    return None


class LambdaHandler:
    """A Lambda entry point around ``dispatch``; call it as ``handler(event, context)``.

    ``sources`` are the event shapes this function takes (or a function answering them,
    asked on every call, for a setting read after import); any other is answered 400
    ``unsupported event`` without calling ``dispatch``. Every answer carries the
    request id in ``X-Request-Id``.
    """

    def __init__(
        self,
        dispatch: Dispatch,
        *,
        logger: logging.Logger,
        sources: Collection[EventSource] | Callable[[], Collection[EventSource]] = _ALL_SOURCES,
    ) -> None:
        self._dispatch = dispatch
        self._log = logger
        self._sources = sources if callable(sources) else frozenset(sources)

    def __call__(self, event: Any, context: LambdaContext) -> dict[str, Any]:
        started = time.perf_counter()
        caller_id = _client_context_request_id(context)
        platform_id = getattr(context, "aws_request_id", None)
        request_id = resolve_request_id(caller_id, platform_id)
        token = request_id_var.set(request_id)
        platform_ids = {"aws_request_id": platform_id} if platform_id else {}
        ids_token = platform_ids_var.set(platform_ids)
        request: LambdaRequest | None = None
        try:
            try:
                request = decode_event(event)
                if request.request_id:  # API Gateway's own id, whatever the client sent
                    platform_ids_var.set({**platform_ids, "apigw_request_id": request.request_id})
                request_id = resolve_request_id(
                    request.header(REQUEST_ID_HEADER) or caller_id,
                    request.request_id or platform_id,
                )
                request_id_var.set(request_id)
                response = self._answer(request, request_id, context)
            except Exception as exc:
                self._log_failure(exc)
                response = error_response(exc, request_id)
            response.setdefault("headers", {})[REQUEST_ID_HEADER.lower()] = request_id
            self._log.info(
                "request handled",
                extra={
                    "source": request.source if request else None,
                    "method": request.method if request else None,
                    "path": request.path if request else None,
                    "status": response["statusCode"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    # Which version answered: the canary's alarms count per version.
                    "function_version": getattr(context, "function_version", None),
                },
            )
            return response
        finally:
            request_id_var.reset(token)
            platform_ids_var.reset(ids_token)

    def _answer(
        self, request: LambdaRequest, request_id: str, context: LambdaContext
    ) -> dict[str, Any]:
        sources = self._sources() if callable(self._sources) else self._sources
        if request.source not in sources:
            raise UnsupportedEventError
        return self._dispatch(request, request_id, context)

    def _log_failure(self, exc: Exception) -> None:
        if isinstance(exc, DependencyError):
            self._log.warning("dependency failure: %s", exc, extra={"error": type(exc).__name__})
        elif not isinstance(exc, HTTPError):
            self._log.exception("unexpected failure")


def read_query_request(request: LambdaRequest) -> QueryRequest:
    """The ``QueryRequest`` of a ``POST /query/result``, checked as the contract says.

    Raises, in this order: 410/404/405 (``check_route``), 415 for a non-JSON
    Content-Type, 413 for a body over 64 KiB, 400 for a body that is not JSON and
    422 for JSON that breaks the field rules.
    """
    from query_core._models import parse_query_request  # pydantic: only where it is used

    check_route(request.method, request.path)
    if not is_json_media_type(request.header("content-type")):
        raise UnsupportedMediaTypeError
    body = request.body  # decoded once (a base64 body is decoded on every read)
    if body is not None and len(body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError
    return parse_query_request(body)
