"""``POST /query/result`` answers and logs alike through the dispatcher and through FastAPI,
over raw ASGI, real HTTP (uvicorn) and the Mangum entry; everything else goes to FastAPI."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from ecs_service.app import create_service
from ecs_service.hot_route import HotRouteDispatcher
from ecs_service.middleware import RequestIdMiddleware
from ecs_service.settings import ServiceSettings
from fastapi import FastAPI, Request, Response
from mangum import Mangum
from query_core import RESULT_PATH, BadRequestError, HTTPError
from query_core.testing import JsonLogs
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


@pytest.fixture
def long_way_calls(monkeypatch: pytest.MonkeyPatch) -> dict[int, int]:
    """How many HTTP requests each FastAPI app received, by ``id(app)``."""
    calls: dict[int, int] = {}
    long_way = FastAPI.__call__

    async def counted(self: FastAPI, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            calls[id(self)] = calls.get(id(self), 0) + 1
        await long_way(self, scope, receive, send)

    monkeypatch.setattr(FastAPI, "__call__", counted)
    return calls


def _logged(json_logs: JsonLogs, seen: int) -> list[dict[str, Any]]:
    """The log lines since ``seen``, up to the access line (which follows the answer)."""
    for _ in range(200):
        lines = json_logs.lines[seen:]
        if any(line["message"] == "request handled" for line in lines):
            break
        time.sleep(0.01)
    return [{k: v for k, v in x.items() if k not in ("time", "duration_ms")} for x in lines]


@asynccontextmanager
async def _lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """The app started and stopped through the ASGI lifespan protocol, as a server does."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
        await task


async def _asgi_request(
    app: ASGIApp, method: str, path: str, payload: bytes, headers: dict[str, str]
) -> list[Message]:
    """The messages the app sends for one request: start, then body."""
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [*raw, (b"content-length", str(len(payload)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    incoming = [{"type": "http.request", "body": payload, "more_body": False}]
    answered = asyncio.Event()
    sent: list[Message] = []

    async def receive() -> Message:
        if incoming:
            return incoming.pop(0)
        await answered.wait()  # the client stays until it has its answer
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            answered.set()

    await app(scope, receive, send)
    return sent


def _over_asgi(
    app: ASGIApp, payload: bytes, headers: dict[str, str], logs: JsonLogs, **_: Any
) -> Any:
    async def run() -> list[Message]:
        async with _lifespan(app):
            return await _asgi_request(app, "POST", RESULT_PATH, payload, headers)

    seen = len(logs.lines)
    return asyncio.run(run()), _logged(logs, seen)


def _over_http(
    app: ASGIApp, payload: bytes, headers: dict[str, str], logs: JsonLogs, *, serve: Any, **_: Any
) -> Any:
    with serve(app) as running:
        seen = len(logs.lines)
        response = running.request("POST", RESULT_PATH, body=payload, headers=headers)
        answer = [(k.lower(), v) for k, v in response.headers.items() if k.lower() != "date"]
        return response.status, response.data, answer, _logged(logs, seen)


def _over_mangum(
    app: ASGIApp,
    payload: bytes,
    headers: dict[str, str],
    logs: JsonLogs,
    *,
    lambda_context: Any,
    **_: Any,
) -> Any:
    """The Lambda entry's way (``ecs_service.lambda_handler``): a REST API (v1) event."""
    event = {
        "resource": "/{proxy+}",
        "path": RESULT_PATH,
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": RESULT_PATH.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": "POST",
            "stage": "prod",
            "path": "/prod" + RESULT_PATH,
            "requestId": "gw-rest-1",
            "identity": {"sourceIp": "10.0.0.1"},
        },
        "body": payload.decode(),
        "isBase64Encoded": False,
    }
    handler = Mangum(app, lifespan="auto", api_gateway_base_path="/")
    seen = len(logs.lines)
    try:
        response = handler(event, lambda_context)
    finally:  # Mangum makes an event loop for the process (as on Lambda) and never closes it.
        asyncio.get_event_loop_policy().get_event_loop().close()
        asyncio.set_event_loop(None)
    return response, _logged(logs, seen)


TRANSPORTS: dict[str, Callable[..., Any]] = {
    "asgi": _over_asgi,
    "http": _over_http,
    "mangum": _over_mangum,
}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("reply", "payload", "headers"), CASES)
def test_both_ways_answer_and_log_the_same(
    serve,
    lambda_context,
    settings,
    upstream,
    json_logs,
    long_way_calls,
    transport,
    reply,
    payload,
    headers,
):
    upstream.reply = reply
    headers = {**headers, "X-Request-Id": "same-1"}
    straight = create_service(settings)
    through_fastapi = create_service(settings.model_copy(update={"hot_path": False}))
    exchange = TRANSPORTS[transport]
    fixtures = {"serve": serve, "lambda_context": lambda_context}
    short = exchange(straight, payload, headers, json_logs, **fixtures)
    long = exchange(through_fastapi, payload, headers, json_logs, **fixtures)
    assert long_way_calls == {id(through_fastapi): 1}  # only HOT_PATH=false went through FastAPI
    assert short == long
    assert "request handled" in [line["message"] for line in short[-1]]


def test_both_ways_answer_an_unexpected_failure_alike(
    settings, json_logs, long_way_calls, broken_client
):
    answers = []
    for hot_path in (True, False):
        app = create_service(settings.model_copy(update={"hot_path": hot_path}), broken_client())
        headers = {**_JSON, "X-Request-Id": "b-1"}
        messages, logged = _over_asgi(app, b'{"user_id": "u-1"}', headers, json_logs)
        for line in logged:  # the traceback's frames differ; what was raised may not
            if "exception" in line:
                line["exception"] = line["exception"].splitlines()[-1]
        answers.append((messages, logged))
    assert answers[0] == answers[1]
    messages, logged = answers[0]
    assert (messages[0]["status"], json.loads(messages[1]["body"])) == (
        500,
        {"detail": "internal error"},
    )
    assert [x["message"] for x in logged] == ["unexpected failure", "request handled"]
    assert logged[0]["exception"].startswith("RuntimeError: ")
    assert list(long_way_calls.values()) == [1]  # only HOT_PATH=false went through FastAPI


def test_only_the_hot_route_goes_straight(service, long_way_calls):
    assert service.request("POST", RESULT_PATH, {"user_id": "u-1"}).status == 200
    assert long_way_calls == {}
    assert service.request("GET", RESULT_PATH).status == 405  # the router's answer
    assert service.request("POST", RESULT_PATH + "/", {"user_id": "u-1"}).status == 404
    assert service.request("GET", "/health").status == 200
    document = json.loads(service.request("GET", "/openapi.json").data)
    assert document["paths"][RESULT_PATH]["post"]["responses"]["200"]  # still documented
    assert service.request("GET", "/docs").status == 200
    assert list(long_way_calls.values()) == [5]


def test_the_dispatcher_serves_only_a_registered_route():
    app = FastAPI(title="bare")
    with pytest.raises(ValueError, match="bare has no route for POST /hot"):
        HotRouteDispatcher(app, "POST", "/hot", handlers={})

    async def endpoint(request: Request) -> Response:
        return Response(request.path_params["name"])

    app.router.add_api_route("/hot/{name}", endpoint, methods=["POST"])
    with pytest.raises(ValueError, match="has path parameters"):
        HotRouteDispatcher(app, "POST", "/hot/{name}", handlers={})


def test_what_the_endpoint_raises_is_answered_by_the_nearest_handler(json_logs):
    app = FastAPI()

    async def endpoint(request: Request) -> Response:
        raise BadRequestError("no")

    async def answer(request: Request, exc: Exception) -> Response:
        return Response(f"{type(exc).__name__}: {exc}", status_code=418)

    async def anything(request: Request, exc: Exception) -> Response:
        return Response(b"not the nearest", status_code=500)

    app.router.add_api_route("/hot", endpoint, methods=["POST"])
    handlers = {Exception: anything, HTTPError: answer}
    dispatcher = HotRouteDispatcher(
        app, "POST", "/hot", handlers=handlers, middleware=[RequestIdMiddleware]
    )
    messages = asyncio.run(_asgi_request(dispatcher, "POST", "/hot", b"", {}))
    assert (messages[0]["status"], messages[1]["body"]) == (418, b"BadRequestError: no")
    assert messages[0]["headers"][-1][0] == b"x-request-id"  # the middleware wrapped it


def test_hot_path_false_in_the_environment_serves_fastapi_alone(monkeypatch, settings):
    monkeypatch.setenv("HOT_PATH", "false")
    read = ServiceSettings(internal_api_url=settings.internal_api_url)
    assert read.hot_path is False
    assert isinstance(create_service(read), FastAPI)
