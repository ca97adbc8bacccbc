"""``POST /query/result`` served the short way answers exactly as through FastAPI's layers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from ecs_service.app import create_app
from ecs_service.hot_route import HotRoute, QueryServiceApp
from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan
from query_core import BadRequestError
from query_devstack import Reply
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    (Reply(status=503, body=b"{}"), b'{"user_id": "u-1"}', _JSON),
    (Reply(status=403, headers=_DENIED), b'{"user_id": "u-1"}', _JSON),
    (Reply(status=200, body=b"<html>"), b'{"user_id": "u-1"}', _JSON),
]


class _Wrapper:
    """Wraps FastAPI's middleware stack, as an instrumentation does (OpenTelemetry's
    ``instrument_app``), counting the requests through it and stamping their answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.calls += 1

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-wrapped", b"1")]
            await send(message)

        await self.app(scope, receive, stamped)


@pytest.fixture
def long_way_calls(monkeypatch) -> dict[int, int]:
    """How many requests each app handed to FastAPI's long way, by ``id(app)``."""
    calls: dict[int, int] = {}
    long_way = FastAPI.__call__

    async def counted(self: FastAPI, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            calls[id(self)] = calls.get(id(self), 0) + 1
        await long_way(self, scope, receive, send)

    monkeypatch.setattr(FastAPI, "__call__", counted)
    return calls


@pytest.fixture
def both_ways(serve, settings) -> Iterator[tuple[Any, Any, _Wrapper]]:
    """The service as built (short way), and the same service whose FastAPI stack something
    wrapped (which sends every request the long way), with the wrapper."""
    short, long = create_app(settings), create_app(settings)
    wrapper = _Wrapper(long.build_middleware_stack())
    long.middleware_stack = wrapper
    with serve(short) as fast, serve(long) as slow:
        yield fast, slow, wrapper


def _exchange(running: Any, json_logs: Any, payload: bytes, headers: dict[str, str]) -> Any:
    """The answer (status, body, headers) and the log lines of one request."""
    seen = len(json_logs.lines)
    response = running.request("POST", "/query/result", body=payload, headers=headers)
    for _ in range(200):  # the access line follows the answer: wait for it
        lines = json_logs.lines[seen:]
        if any(line["message"] == "request handled" for line in lines):
            break
        time.sleep(0.01)
    logged = [{k: v for k, v in x.items() if k not in ("time", "duration_ms")} for x in lines]
    answer = {k.lower(): v for k, v in response.headers.items() if k.lower() != "date"}
    answer.pop("x-wrapped", None)
    return response.status, response.data, answer, logged


@pytest.mark.parametrize(("reply", "payload", "headers"), CASES)
def test_both_ways_answer_and_log_the_same(both_ways, upstream, json_logs, reply, payload, headers):
    fast, slow, wrapper = both_ways
    upstream.reply = reply
    headers = {**headers, "X-Request-Id": "same-1"}
    short = _exchange(fast, json_logs, payload, headers)
    long = _exchange(slow, json_logs, payload, headers)
    assert wrapper.calls == 1  # the second went the long way
    assert short == long
    assert short[3][-1]["message"] == "request handled"


def test_only_the_hot_route_skips_fastapis_layers(service, long_way_calls):
    assert service.request("POST", "/query/result", {"user_id": "u-1"}).status == 200
    assert long_way_calls == {}
    assert service.request("GET", "/query/result").status == 405  # the router's answer
    assert service.request("POST", "/query/result/", {"user_id": "u-1"}).status == 404
    assert service.request("GET", "/health").status == 200
    assert list(long_way_calls.values()) == [3]


def test_a_wrapped_stack_takes_the_long_way(both_ways):
    _, slow, wrapper = both_ways
    response = slow.request("POST", "/query/result", {"user_id": "u-1"})
    assert (response.status, response.headers.get("x-wrapped"), wrapper.calls) == (200, "1", 1)


def test_added_middleware_wraps_the_hot_route_too(serve, settings, long_way_calls):
    app = create_app(settings)
    app.add_middleware(_Wrapper)
    with serve(app) as running:
        response = running.request("POST", "/query/result", {"user_id": "u-1"})
    assert (response.status, response.headers.get("x-wrapped")) == (200, "1")
    assert long_way_calls == {}


def test_an_added_handler_answers_the_short_way_as_the_long_way_would(
    serve, settings, long_way_calls
):
    app = create_app(settings)

    def teapot(request: Request, exc: Exception) -> Response:  # a sync handler, as allowed
        return PlainTextResponse(f"bad: {exc}", status_code=418)

    app.add_exception_handler(BadRequestError, teapot)
    with serve(app) as running:
        response = running.request("POST", "/query/result", b'{"user_id": ', headers=_JSON)
    assert (response.status, response.data[:5]) == (418, b"bad: ")
    assert long_way_calls == {}


def _last_resort(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("the app's own 500", status_code=500)


@pytest.mark.parametrize("setting", ["max_body_size", "root_path", "500 handler"])
def test_a_setting_the_short_way_cannot_honour_sends_it_the_long_way(
    serve, settings, long_way_calls, json_logs, setting
):
    app = create_app(settings)
    if setting == "500 handler":
        app.add_exception_handler(Exception, _last_resort)
    else:
        setattr(app, setting, 100 if setting == "max_body_size" else "/api")
    with serve(app) as running:
        response = running.request("POST", "/query/result", {"user_id": "u-1"})
    assert response.status in (200, 404)  # a root_path the client does not send: not found
    assert list(long_way_calls.values()) == [1]
    (warning,) = [x for x in json_logs.lines if x["level"] == "WARNING"]
    assert warning["message"].startswith("hot routes take FastAPI's long way: the app")


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

    app.router.add_api_route("/hot", endpoint, methods=["POST"], route_class_override=HotRoute)
    with serve(app) as running:
        response = running.request("POST", "/hot", {})
    assert (response.status, response.data) == (200, b"short or long")
    assert tracing.names == ["POST"]  # FastAPI's server span: the long way


def test_the_endpoint_sees_the_scope_the_router_would_give_it(serve, long_way_calls):
    app = QueryServiceApp()

    async def endpoint(request: Request) -> Response:
        seen = {
            "app": request.app is app,
            "router": request.scope["router"] is app.router,
            "route": request.scope["route"].path,
            "endpoint": request.scope["endpoint"] is endpoint,
            "path_params": request.path_params,
        }
        return Response(json.dumps(seen))

    app.router.add_api_route("/hot", endpoint, methods=["POST"], route_class_override=HotRoute)
    with serve(app) as running:
        response = running.request("POST", "/hot", {})
    assert json.loads(response.data) == {
        "app": True,
        "router": True,
        "route": "/hot",
        "endpoint": True,
        "path_params": {},
    }
    assert long_way_calls == {}


def test_a_hot_route_with_path_parameters_takes_the_long_way(serve, long_way_calls, json_logs):
    app = QueryServiceApp()

    async def endpoint(request: Request) -> Response:
        return Response(request.path_params["name"].encode())

    app.router.add_api_route(
        "/hot/{name}", endpoint, methods=["POST"], route_class_override=HotRoute
    )
    with serve(app) as running:
        response = running.request("POST", "/hot/x", {})
    assert (response.status, response.data, list(long_way_calls.values())) == (200, b"x", [1])
    assert [x["message"] for x in json_logs.lines if x["level"] == "WARNING"] == [
        "POST /hot/{name} takes FastAPI's long way: the route has path parameters"
    ]
