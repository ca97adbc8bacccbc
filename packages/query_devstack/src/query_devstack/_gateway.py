"""A local stand-in for API Gateway: HTTP in, a REST (v1) proxy event to a handler, HTTP out.

It turns each request into the event API Gateway's Lambda proxy integration sends
(``resource``, ``path`` without the stage, ``multiValueHeaders``, ``requestContext``
with the stage, base64 for binary bodies), calls the real handler in a worker thread,
and writes its ``{"statusCode", "headers", "body"}`` back, as API Gateway does,
including its own answers: 403 ``Missing Authentication Token`` outside the stage,
502 for a malformed proxy response, 504 past the 29 s integration timeout.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["ApiGatewayFront", "ClientContext", "LambdaInvokeFront", "LocalLambdaContext"]

type Handler = Callable[[dict[str, Any], Any], Any]
type Scope = dict[str, Any]
type Receive = Callable[[], Awaitable[dict[str, Any]]]
type Send = Callable[[dict[str, Any]], Awaitable[None]]

INTEGRATION_TIMEOUT_SECONDS = 29.0


@dataclass
class ClientContext:
    """The caller's ``ClientContext`` of an ``Invoke``, as the Lambda runtime exposes it."""

    custom: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    client: Any = None


@dataclass
class LocalLambdaContext:
    """The Lambda context a local invocation gets: a request id, a deadline, and the function's
    version as Lambda's runtime gives it (``AWS_LAMBDA_FUNCTION_VERSION``, ``$LATEST`` unset):
    the access line names it, and the canary's metric filters count by it."""

    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_seconds: float = INTEGRATION_TIMEOUT_SECONDS
    function_name: str = "local"
    function_version: str = field(
        default_factory=lambda: os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    )
    client_context: ClientContext | None = None
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        left = self.timeout_seconds - (time.monotonic() - self._started)
        return max(0, int(left * 1000))


def _gateway_error(status: int, message: str, error_type: str) -> tuple[int, list[Any], bytes]:
    body = json.dumps({"message": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"x-amzn-errortype", error_type.encode()),
        (b"x-amzn-requestid", str(uuid.uuid4()).encode()),
    ]
    return status, headers, body


class ApiGatewayFront:
    """An ASGI app that plays a REST API with one ``{proxy+}`` resource in front of ``handler``.

    ``stage`` is the path prefix (``/prod``) as on an execute-api URL; ``None`` plays a
    custom domain mapped without one.
    """

    def __init__(
        self, handler: Handler, *, stage: str | None = "prod", api_id: str = "local"
    ) -> None:
        self._handler = handler
        self._stage = stage
        self._api_id = api_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, headers, payload = await self._answer(scope, body)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def event(self, scope: Scope, body: bytes, request_id: str) -> dict[str, Any] | None:
        """The proxy event for a request, or None when the path is outside the stage."""
        path = scope["path"]
        if self._stage is not None:
            prefix = f"/{self._stage}"
            if path != prefix and not path.startswith(prefix + "/"):
                return None
            path = path[len(prefix) :] or "/"
        multi_headers: dict[str, list[str]] = {}
        for raw_name, raw_value in scope["headers"]:
            multi_headers.setdefault(raw_name.decode("latin-1"), []).append(
                raw_value.decode("latin-1")
            )
        multi_query: dict[str, list[str]] = {}
        for name, value in parse_qsl(
            scope["query_string"].decode("latin-1"), keep_blank_values=True
        ):
            multi_query.setdefault(name, []).append(value)
        try:
            text: str | None = body.decode("utf-8") if body else None
            is_base64 = False
        except UnicodeDecodeError:
            text, is_base64 = base64.b64encode(body).decode(), True
        client = scope.get("client") or ("127.0.0.1", 0)
        return {
            "resource": "/{proxy+}",
            "path": path,
            "httpMethod": scope["method"],
            "headers": {name: values[-1] for name, values in multi_headers.items()},
            "multiValueHeaders": multi_headers,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": {"proxy": path.lstrip("/")},
            "stageVariables": None,
            "requestContext": {
                "resourcePath": "/{proxy+}",
                "httpMethod": scope["method"],
                "path": scope["path"],
                "stage": self._stage or "$default",
                "requestId": request_id,
                "requestTimeEpoch": int(time.time() * 1000),
                "protocol": f"HTTP/{scope.get('http_version', '1.1')}",
                "identity": {"sourceIp": client[0], "userAgent": None},
                "domainName": "localhost",
                "apiId": self._api_id,
                "accountId": "000000000000",
            },
            "body": text,
            "isBase64Encoded": is_base64,
        }

    async def _answer(self, scope: Scope, body: bytes) -> tuple[int, list[Any], bytes]:
        request_id = str(uuid.uuid4())
        event = self.event(scope, body, request_id)
        if event is None:
            return _gateway_error(
                403, "Missing Authentication Token", "MissingAuthenticationTokenException"
            )
        context = LocalLambdaContext()
        try:
            result = await asyncio.wait_for(
                asyncio.to_thread(self._handler, event, context), INTEGRATION_TIMEOUT_SECONDS
            )
        except TimeoutError:
            return _gateway_error(504, "Endpoint request timed out", "INTEGRATION_TIMEOUT")
        except Exception:
            return _gateway_error(502, "Internal server error", "INTEGRATION_FAILURE")
        return self._response(result, request_id)

    @staticmethod
    def _response(result: Any, request_id: str) -> tuple[int, list[Any], bytes]:
        if not isinstance(result, Mapping) or not isinstance(result.get("statusCode"), int):
            return _gateway_error(502, "Internal server error", "INTEGRATION_FAILURE")
        text = result.get("body") or ""
        if not isinstance(text, str):
            return _gateway_error(502, "Internal server error", "INTEGRATION_FAILURE")
        payload = base64.b64decode(text) if result.get("isBase64Encoded") else text.encode()
        headers: list[tuple[bytes, bytes]] = []
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers.extend((name.lower().encode(), str(v).encode()) for v in values)
        for name, value in (result.get("headers") or {}).items():
            headers.append((name.lower().encode(), str(value).encode()))
        headers.append((b"x-amzn-requestid", request_id.encode()))
        return result["statusCode"], headers, payload


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += bytes(message.get("body", b""))
        if not message.get("more_body"):
            return body


def _function_name(target: str) -> str:
    """The function's name in what ``Invoke`` was given: a name, ``name:qualifier``, or a
    (qualified) function ARN ``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]``."""
    parts = target.split(":")
    if parts[0] == "arn":
        return parts[6] if len(parts) > 6 else ""
    return parts[0]


class LambdaInvokeFront:
    """An ASGI app that speaks the Lambda ``Invoke`` API for local functions.

    ``POST /2015-03-31/functions/{name}/invocations`` runs ``functions[name]`` with
    the JSON payload as its event, as boto3's ``invoke`` (RequestResponse) expects:
    200 and the handler's JSON; an exception is 200 with ``X-Amz-Function-Error:
    Unhandled`` and ``{"errorMessage", "errorType"}``; an unknown function is 404
    ``ResourceNotFoundException``. ``X-Amz-Client-Context`` reaches the handler as
    ``context.client_context``.
    """

    PREFIX = "/2015-03-31/functions/"

    def __init__(self, functions: dict[str, Handler]) -> None:
        self._functions = functions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await ApiGatewayFront(lambda e, c: None)(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        status, headers, payload = await self._invoke(scope, body)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _invoke(self, scope: Scope, body: bytes) -> tuple[int, list[Any], bytes]:
        path: str = scope["path"]
        name = _function_name(path.removeprefix(self.PREFIX).removesuffix("/invocations"))
        request_id = str(uuid.uuid4())
        base = [(b"content-type", b"application/json"), (b"x-amzn-requestid", request_id.encode())]
        handler = self._functions.get(name)
        if scope["method"] != "POST" or not path.startswith(self.PREFIX) or handler is None:
            error = {"Type": "User", "message": f"Function not found: {name}"}
            return (
                404,
                [*base, (b"x-amzn-errortype", b"ResourceNotFoundException")],
                (json.dumps(error).encode()),
            )
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        client_context = None
        if "x-amz-client-context" in headers:
            raw = json.loads(base64.b64decode(headers["x-amz-client-context"]))
            client_context = ClientContext(custom=raw.get("custom") or {}, env=raw.get("env") or {})
        context = LocalLambdaContext(
            aws_request_id=request_id, function_name=name, client_context=client_context
        )
        try:
            event = json.loads(body) if body else {}
            result = await asyncio.to_thread(handler, event, context)
        except Exception as exc:
            failure: dict[str, Any] = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "stackTrace": [],
            }
            return (
                200,
                [*base, (b"x-amz-function-error", b"Unhandled")],
                json.dumps(failure).encode(),
            )
        return 200, [*base, (b"x-amz-executed-version", b"$LATEST")], json.dumps(result).encode()
