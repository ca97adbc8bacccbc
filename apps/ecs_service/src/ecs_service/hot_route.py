"""``QueryServiceApp`` and ``HotRoute``: FastAPI, with its hot routes served the short way.

A ``HotRoute`` is a route whose endpoint takes the ``Request`` and returns the ``Response``
itself: FastAPI documents it as usual, but solves no dependencies, reads no body and
serializes no answer for it. ``QueryServiceApp`` also serves such a route the short way: a
request for it goes through the app's own middleware (``RequestIdMiddleware``: its id, its
access line, the last-resort 500) straight to the endpoint::

    POST /query/result ──▶ the app's middleware ──▶ the exception handling ──▶ endpoint
    anything else ──▶ FastAPI: server-error, telemetry and body-limit middleware, the app's
                      middleware, exception and exit-stack middleware, router, route

FastAPI's own per-request layers cost about a fifth of the service's CPU per request and do
nothing for such a route. What the endpoint raises is answered as on the long way: by
Starlette's ``wrap_app_handling_exceptions`` (which FastAPI's routes use), with the app's
handlers split as its exception middleware splits them (status codes, classes;
``500``/``Exception`` left to the app's middleware). The route stays registered: it is in the
OpenAPI document, and another method on its path is still the router's 405. See
docs/decisions/0008-service-hot-path.md.

The short way is taken only while it is the same as the long one, decided when Starlette
builds the middleware stack (at startup) and logged then: not when FastAPI's stack holds a
layer this module does not know (a newer FastAPI), nor when something wrapped the stack
(an instrumentation such as OpenTelemetry's ``instrument_app``), nor when the app or the route
limits body sizes (``max_body_size``), nor when the app registered a handler for ``500`` or
``Exception`` (Starlette's server-error middleware calls it), nor for a route with path
parameters or one an earlier route shadows; and not while FastAPI's own telemetry (tracing,
metrics or logs) is on, asked on the first request to the route, after startup, where
telemetry is set up. Middleware added with ``add_middleware`` wraps the short way too, as a
second instance beside the long way's: one that keeps state per instance sees the hot
route's requests apart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any, Final, cast

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["HotRoute", "QueryServiceApp"]

_log = logging.getLogger(__name__)

#: FastAPI's and Starlette's own layers around the app's middleware, and why skipping each
#: one changes nothing for a hot route (anything else in the stack keeps the long way).
_KNOWN_LAYERS: Final = {
    "starlette.middleware.errors.ServerErrorMiddleware": "no 500/Exception handler to call",
    "fastapi.telemetry._asgi.ExceptionTelemetryMiddleware": "telemetry is off",
    "fastapi._body_limit.AppBodyLimitMiddleware": "the app sets no max_body_size",
    "starlette.middleware.exceptions.ExceptionMiddleware": "its handlers are used as it would",
    "fastapi.middleware.asyncexitstack.AsyncExitStackMiddleware": "no dependencies, no files",
}


class HotRoute(APIRoute):
    """A documented route whose endpoint takes the ``Request`` and returns the ``Response``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return cast("Callable[[Request], Coroutine[Any, Any, Response]]", self.endpoint)


class QueryServiceApp(FastAPI):
    """A FastAPI application that serves its ``HotRoute`` routes the short way."""

    #: (method, path) -> the short way to that route, built with the middleware stack.
    _hot: dict[tuple[str, str], ASGIApp] | None = None
    _plain_stack: ASGIApp | None = None
    _telemetry_on: bool | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        self._plain_stack = stack
        self._hot = {}
        hot = [route for route in self.routes if isinstance(route, HotRoute)]
        if not hot:
            return stack
        blocked = self._blocked(stack)
        if blocked:
            _log.warning("hot routes take FastAPI's long way: %s", blocked)
            return stack
        handlers = {k: v for k, v in self.exception_handlers.items() if k not in (500, Exception)}
        split = (
            {k: v for k, v in handlers.items() if not isinstance(k, int)},
            {k: v for k, v in handlers.items() if isinstance(k, int)},
        )
        for route in hot:
            for method in sorted(route.methods or ()):
                why = self._route_blocked(route, method)
                if why:
                    _log.warning("%s %s takes FastAPI's long way: %s", method, route.path, why)
                    continue
                app: ASGIApp = _ShortWay(self, route, split)
                for cls, args, kwargs in reversed(self.user_middleware):
                    app = cls(app, *args, **kwargs)
                self._hot[method, route.path] = app
                _log.info("%s %s is served the short way", method, route.path)
        return stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.middleware_stack is None:
            self.middleware_stack = self.build_middleware_stack()
        short = (
            self._hot.get((scope["method"], scope["path"]))
            if self._hot and scope["type"] == "http" and not scope.get("root_path")
            else None
        )
        if (
            short is not None
            and self.middleware_stack is self._plain_stack
            and not self._telemetry_is_on()
        ):
            scope["app"] = self
            await short(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    def _blocked(self, stack: ASGIApp) -> str | None:
        """Why the short way would differ from the long one, or None."""
        if self.root_path:
            return "the app has a root_path"
        if getattr(self, "max_body_size", None) is not None:
            return "the app limits body sizes (max_body_size)"
        if 500 in self.exception_handlers or Exception in self.exception_handlers:
            return "the app answers what nothing else handled itself (a 500/Exception handler)"
        if not hasattr(self, "_native_telemetry"):
            return "this FastAPI's telemetry cannot be asked whether it is on"
        own: set[Any] = {middleware.cls for middleware in self.user_middleware}
        layer: Any = stack
        while layer is not self.router:
            kind = type(layer)
            name = f"{kind.__module__}.{kind.__qualname__}"
            if kind not in own and name not in _KNOWN_LAYERS:
                return f"FastAPI's stack holds a layer this app does not know: {name}"
            layer = getattr(layer, "app", None)
            if layer is None:
                return f"FastAPI's stack cannot be followed past {name}"
        return None

    def _route_blocked(self, route: HotRoute, method: str) -> str | None:
        """Why ``method`` on ``route`` would be served differently the short way, or None."""
        if getattr(route, "max_body_size", None) is not None:
            return "the route limits body sizes (max_body_size)"
        if route.param_convertors:
            return "the route has path parameters"
        scope = {"type": "http", "method": method, "path": route.path, "root_path": ""}
        first = next(r for r in self.router.routes if r.matches(scope)[0] is Match.FULL)
        return None if first is route else "an earlier route matches the same requests"

    def _telemetry_is_on(self) -> bool:
        """Whether FastAPI's own telemetry is on (asked once, on the first hot request)."""
        if self._telemetry_on is None:
            self._telemetry_on = bool(self._native_telemetry.enabled())
        return self._telemetry_on


class _ShortWay:
    """The ASGI app at the end of the short way: the scope keys the router would set, the
    route's endpoint, and what it raises answered by Starlette's own wrapper with the app's
    handlers (only then: on success the wrapper's layer would only cost time). A failure while
    the answer is being sent goes on to the app's middleware, which logs it."""

    def __init__(self, app: FastAPI, route: HotRoute, handlers: tuple[dict[Any, Any], ...]) -> None:
        self.router = app.router
        self.route = route
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["router"] = self.router
        scope["route"] = self.route
        scope["endpoint"] = self.route.endpoint
        scope["path_params"] = {}
        scope["starlette.exception_handlers"] = self.handlers
        request = Request(scope, receive, send)
        try:
            response = await self.route.endpoint(request)
        except Exception as exc:
            raised = exc

            async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
                raise raised

            await wrap_app_handling_exceptions(endpoint, request)(scope, receive, send)
            return
        await response(scope, receive, send)
