"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs throughput on every request)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Final

from query_core import REQUEST_ID_HEADER, clean_request_id, request_id_var
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestIdMiddleware"]

_HEADER: Final = REQUEST_ID_HEADER.lower().encode()
_log = logging.getLogger("ecs_service.access")
_INTERNAL_ERROR_BODY: Final = b'{"detail":"internal error"}'
_INTERNAL_ERROR_HEADERS: Final = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_INTERNAL_ERROR_BODY)).encode()),
]


class RequestIdMiddleware:
    """Takes ``X-Request-Id`` from the caller (or makes one), binds it to the request's
    log lines, echoes it on the response, and logs one access line per request.

    It also answers an exception nothing else handled with 500 ``{"detail": "internal
    error"}`` carrying the request id (Starlette's own last-resort handler sits outside
    every middleware, so its 500 would lose the id) and logs it with the traceback.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        aws_request_id = None
        for name, value in scope["headers"]:
            if name == _HEADER:
                incoming = clean_request_id(value.decode("latin-1"))
        event = scope.get("aws.event")  # Mangum: fall back to API Gateway's request id
        if isinstance(event, dict):
            aws_request_id = clean_request_id((event.get("requestContext") or {}).get("requestId"))
        request_id = incoming or aws_request_id or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        status_sent = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, status_sent
            if message["type"] == "http.response.start":
                status = message["status"]
                status_sent = True
                headers = [(k, v) for k, v in message.get("headers", []) if k != _HEADER]
                headers.append((_HEADER, request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            _log.exception("unexpected failure")
            if status_sent:
                raise
            await send_with_id(
                {"type": "http.response.start", "status": 500, "headers": _INTERNAL_ERROR_HEADERS}
            )
            await send_with_id({"type": "http.response.body", "body": _INTERNAL_ERROR_BODY})
        finally:
            _log.info(
                "request handled",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)
