"""``POST /query/result`` served the short way answers exactly as through FastAPI's layers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from ecs_service.app import create_app
from ecs_service.hot_route import HotRoute, QueryServiceApp
from fastapi import Request, Response
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan
from query_devstack import Reply
from starlette.types import ASGIApp, Receive, Scope, Send

_JSON = {"Content-Type": "application/json"}
_DENIED = {"x-amzn-ErrorType": "ForbiddenException"}
_ITEM = {"result_id": "01J", "user_id": "u-1", "status": "done", "created_at": "2026-01-01T00:00Z"}
PAGE = {"user_id": "u-1", "items": [_ITEM], "count": 1, "next_token": "tok.en"}

#: (upstream reply, request body, request headers): the endpoint's answers, one of each kind.
CASES: list[tuple[Reply, bytes, dict[str, str]]] = [
    (Reply(body=json.dumps(PAGE).encode()), b'{"user_id": "u-1"}', _JSON),
    (Reply(body=json.dumps({**PAGE, "extra": 1}).encode()), b'{"user_id": "u-1"}', _JSON),
    (Reply(), b'{"user_id": "u-1"}', {"Content-Type": "text/plain"}),  # 415
    (Reply(), b'{"user_id": ', _JSON),  # 400
    (Reply(), b'{"user_id": "u-1", "limit": 0}', _JSON),  # 422
    (Reply(), json.dumps({"user_id": "u-1", "pad": "x" * 70_000}).encode(), _JSON),  # 413
    (Reply(status=400, body=b'{"detail": "next_token is malformed"}'), b'{"user_id": "u"}', _JSON),
    (Reply(status=429, body=b"{}", headers={"Retry-After": "4"}), b'{"user_id": "u-1"}', _JSON),
    (Reply(status=503, body=b"{}"), b'{"user_id": "u-1"}', {**_JSON, "X-Request-Id": "r-1"}),
    (Reply(status=403, headers=_DENIED), b'{"user_id": "u-1"}', _JSON),
    (Reply(status=200, body=b"<html>"), b'{"user_id": "u-1"}', _JSON),
]


def _answer(response: Any) -> tuple[int, bytes, dict[str, str]]:
    headers = {k.lower(): v for k, v in response.headers.items() if k.lower() != "date"}
    if headers.get("x-request-id", "").count("-") == 4:  # a generated UUID: differs per call
        headers["x-request-id"] = "generated"
    return response.status, response.data, headers


class _CountingStack:
    """FastAPI's middleware stack, counting the requests that go through it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.calls += 1
        await self.app(scope, receive, send)


@pytest.fixture
def both_ways(serve, settings) -> Iterator[tuple[Any, Any, _CountingStack]]:
    """The service with the short way, the service without it, and the short one's count of
    requests through FastAPI's layers."""
    short, long = create_app(settings), create_app(settings)
    long.hot_route = None
    stack = _CountingStack(short.build_middleware_stack())
    short.middleware_stack = stack
    with serve(short) as fast, serve(long) as slow:
        yield fast, slow, stack


@pytest.mark.parametrize(("reply", "payload", "headers"), CASES)
def test_both_ways_answer_the_same(both_ways, upstream, reply, payload, headers):
    fast, slow, _ = both_ways
    upstream.reply = reply
    answers = [
        _answer(running.request("POST", "/query/result", body=payload, headers=headers))
        for running in (fast, slow)
    ]
    assert answers[0] == answers[1]


def test_the_hot_route_skips_fastapis_layers_and_nothing_else_does(both_ways):
    fast, _, stack = both_ways
    assert fast.request("POST", "/query/result", {"user_id": "u-1"}).status == 200
    assert stack.calls == 0
    assert fast.request("GET", "/query/result").status == 405  # the router's answer
    assert fast.request("POST", "/query/result/", {"user_id": "u-1"}).status == 404
    assert fast.request("GET", "/health").status == 200
    assert stack.calls == 3


def test_added_middleware_wraps_the_hot_route_too(serve, settings):
    app = create_app(settings)

    class Stamp:
        def __init__(self, inner: ASGIApp) -> None:
            self.inner = inner

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            async def stamped(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message["headers"], (b"x-stamp", b"1")]
                await send(message)

            await self.inner(scope, receive, stamped)

    app.add_middleware(Stamp)
    with serve(app) as running:
        response = running.request("POST", "/query/result", {"user_id": "u-1"})
    assert (response.status, response.headers.get("x-stamp")) == (200, "1")


class _Recording(trace.TracerProvider):
    """A tracer provider that records the names of the spans started."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _Tracer(self.names)


class _Tracer(trace.Tracer):
    def __init__(self, names: list[str]) -> None:
        self.names = names

    def start_span(self, name: str, *args: Any, **kwargs: Any) -> trace.Span:
        self.names.append(name)
        return NonRecordingSpan(INVALID_SPAN_CONTEXT)

    def start_as_current_span(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return trace.use_span(self.start_span(name), end_on_exit=True)


def test_with_tracing_on_the_hot_route_is_traced_through_fastapi(serve):
    tracing = _Recording()
    app = QueryServiceApp(telemetry={"tracer_provider": tracing, "metrics": False, "logs": False})

    async def endpoint(request: Request) -> Response:
        return Response(b"short or long")

    app.add_api_route("/hot", endpoint, methods=["POST"])
    app.hot_route = HotRoute("POST", "/hot", endpoint)
    with serve(app) as running:
        response = running.request("POST", "/hot", {})
    assert (response.status, response.data) == (200, b"short or long")
    assert tracing.names[0].startswith("POST")  # FastAPI's server span: the long way
    assert "fastapi.endpoint" in tracing.names
