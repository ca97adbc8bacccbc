"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs throughput on every request)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Final

from query_core import REQUEST_ID_HEADER, error_answer, request_id_var, resolve_request_id
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestIdMiddleware"]

_HEADER: Final = REQUEST_ID_HEADER.lower().encode()
_ACCESS: Final = "ecs_service.access"
_HANDLED: Final = "request handled"
#: The access line's status of a request whose client left before it was read (nginx's
#: "client closed request"): nothing failed here, and nobody is left to answer.
_CLIENT_CLOSED: Final = 499
_log = logging.getLogger(_ACCESS)


class RequestIdMiddleware:
    """Takes ``X-Request-Id`` from the caller (or makes one), binds it to the request's
    log lines, echoes it on the response, and logs one access line per request.

    It answers an exception nothing else handled (``query_core.error_answer``: 500
    ``{"detail": "internal error"}``) carrying the request id (Starlette's own last-resort
    handler sits outside every middleware, so its 500 would lose the id) and logs it
    with the traceback. A client that leaves before its request is read is no failure:
    nobody is left to answer, and its access line says 499. The id itself follows
    ``query_core.resolve_request_id``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == _HEADER:
                incoming = value.decode("latin-1")
        request_id = resolve_request_id(incoming, _platform_request_id(scope))
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status: int | None = None  # None until the response starts

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != _HEADER]
                headers.append((_HEADER, request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            if status is None:
                status = _CLIENT_CLOSED
        except Exception as exc:
            _log.exception("unexpected failure")
            if status is not None:
                raise
            answer_status, headers, body = error_answer(exc)
            payload = json.dumps(body).encode()
            raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
            raw_headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ]
            await send_with_id(
                {"type": "http.response.start", "status": answer_status, "headers": raw_headers}
            )
            await send_with_id({"type": "http.response.body", "body": payload})
        finally:
            if _log.isEnabledFor(logging.INFO):
                # The access line, built straight away: logging.info would first walk the
                # stack to find its caller (always this line), a tenth of a request's CPU.
                line = {
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                }
                _log.handle(
                    _log.makeRecord(
                        _ACCESS, logging.INFO, __file__, 0, _HANDLED, (), None, extra=line
                    )
                )
            request_id_var.reset(token)


def _platform_request_id(scope: Scope) -> Any:
    """API Gateway's request id when the app runs on Lambda (Mangum's ``aws.event``)."""
    event = scope.get("aws.event")
    if isinstance(event, dict):
        return (event.get("requestContext") or {}).get("requestId")
    return None
