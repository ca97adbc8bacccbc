"""``HotRouteDispatcher``: one route served straight by its endpoint, in front of FastAPI.

A pure ASGI app: ``POST /query/result`` goes through the app's middleware to its endpoint,
everything else (other methods and paths, the lifespan, the docs) to the FastAPI app, which
keeps the route registered and documented. ``HOT_PATH=false`` leaves it out
(``ecs_service.app.create_service``). Why, and what keeps both ways alike:
docs/decisions/0008-service-hot-path.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ecs_service.errors import ErrorHandler

__all__ = ["Endpoint", "HotRouteDispatcher"]

type Endpoint = Callable[[Request], Awaitable[Response]]


class HotRouteDispatcher:
    """Serves ``method path`` with the endpoint ``app`` registered for it, wrapped in
    ``middleware`` (outermost first), answering what it raises with ``handlers`` (the class
    nearest in its MRO, as Starlette looks them up; anything else goes on to the middleware).
    The endpoint takes the ``Request`` and returns the ``Response``; the route has no path
    parameters. Every other request goes to ``app``.
    """

    def __init__(
        self,
        app: FastAPI,
        method: str,
        path: str,
        *,
        handlers: Mapping[type[Exception], ErrorHandler],
        middleware: Sequence[Callable[[ASGIApp], ASGIApp]] = (),
    ) -> None:
        self.app = app
        self.method = method
        self.path = path
        self.endpoint = _registered_endpoint(app, method, path)
        self.handlers = handlers
        hot: ASGIApp = self._serve
        for wrap in reversed(middleware):
            hot = wrap(hot)
        self._hot = hot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == self.path
            and scope["method"] == self.method
            and not scope.get("root_path")  # below a root path, matching is the router's job
        ):
            await self._hot(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            response = await self.endpoint(request)
        except Exception as exc:
            handler = next(
                (self.handlers[kind] for kind in type(exc).__mro__ if kind in self.handlers), None
            )
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)


def _registered_endpoint(app: FastAPI, method: str, path: str) -> Endpoint:
    """The endpoint of the route ``app`` has for ``method path`` (it must have one)."""
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path == path and method in (route.methods or ()):
            if route.param_convertors:
                raise ValueError(f"{method} {path} has path parameters")
            endpoint: Endpoint = route.endpoint
            return endpoint
    raise ValueError(f"{app.title} has no route for {method} {path}")
