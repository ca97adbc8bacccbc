"""``QueryServiceApp``: FastAPI, with its one hot route served the short way.

A request to the hot route (``POST /query/result``) goes through the app's own middleware
(``RequestIdMiddleware``: its id, its access line, the last-resort 500) straight to its
endpoint; every other request goes through FastAPI as usual::

    POST /query/result ──▶ the app's middleware ──▶ endpoint ─(raised)─▶ the app's handler
    anything else ──▶ FastAPI: server-error, telemetry, body-limit middleware, the app's
                      middleware, exception and exit-stack middleware, router, route

FastAPI's own per-request layers cost about a fifth of the service's CPU per request and
do nothing for that route: its endpoint takes the ``Request`` and returns the ``Response``,
solves no dependencies and opens no files, and what it raises is answered by the handler
the app registered for it, looked up as Starlette's exception middleware does (along the
exception's MRO; ``Exception`` itself is left to the middleware's 500, as on the long way).
The route stays registered with FastAPI: it is in the OpenAPI document, and another method
on its path is still the router's 405. See docs/decisions/0008-service-hot-path.md.

The short way is not taken when FastAPI's OpenTelemetry instrumentation is on (its spans
would be missing; asked once, on the first request to the route, so tracing set up at
startup is seen) or when the app limits body sizes itself (``max_body_size``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["HotRoute", "QueryServiceApp"]

type Endpoint = Callable[[Request], Awaitable[Response]]
type Handler = Callable[[Request, Exception], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class HotRoute:
    """A route served the short way: its method, its exact path and its endpoint."""

    method: str
    path: str
    endpoint: Endpoint


class QueryServiceApp(FastAPI):
    """A FastAPI application whose ``hot_route``, when set, skips FastAPI's own layers."""

    hot_route: HotRoute | None = None
    _hot_app: ASGIApp | None = None
    _tracing: bool | None = None

    def build_middleware_stack(self) -> ASGIApp:
        """FastAPI's stack, and beside it the hot route's: the app's middleware around the
        endpoint. Starlette builds both once, on the first request; middleware cannot be
        added after that."""
        self._hot_app = None
        if self.hot_route is not None and getattr(self, "max_body_size", None) is None:
            app: ASGIApp = partial(self._serve, self.hot_route.endpoint)
            for cls, args, kwargs in reversed(self.user_middleware):
                app = cls(app, *args, **kwargs)
            self._hot_app = app
        return super().build_middleware_stack()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.middleware_stack is None:
            self.middleware_stack = self.build_middleware_stack()
        hot = self.hot_route
        if (
            self._hot_app is not None
            and hot is not None
            and scope["type"] == "http"
            and scope["path"] == hot.path
            and scope["method"] == hot.method
            and not scope.get("root_path")
            and not self.root_path
            and not self._instrumented()
        ):
            scope["app"] = self
            await self._hot_app(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def _serve(self, endpoint: Endpoint, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except Exception as exc:
            handler = _handler_for(self.exception_handlers, exc)
            if handler is None:
                raise  # to the app's middleware, as on the long way
            response = await handler(request, exc)
        await response(scope, receive, send)

    def _instrumented(self) -> bool:
        """Whether FastAPI traces requests (its native OpenTelemetry support), asked once, on
        the first request to the hot route: after startup, where tracing is set up."""
        if self._tracing is None:
            telemetry = getattr(self, "_native_telemetry", None)
            self._tracing = telemetry is not None and bool(telemetry.enabled())
        return self._tracing


def _handler_for(handlers: Mapping[Any, Callable[..., Any]], exc: Exception) -> Handler | None:
    """The handler registered for ``exc``'s status (an ``HTTPException``), else for its class
    or its nearest base below ``Exception``: Starlette's exception middleware's order."""
    if isinstance(exc, HTTPException) and exc.status_code in handlers:
        status_handler: Handler = handlers[exc.status_code]
        return status_handler
    for kind in type(exc).__mro__:
        if kind is Exception:
            return None
        if kind in handlers:
            handler: Handler = handlers[kind]
            return handler
    return None
