"""The two paths under test: ``POST {base}/query/result`` over HTTP, or a direct invocation
of the Query Result Lambda; and ``--old``/``--new`` read into one of them."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import httpx2

from query_migrate._errors import MigrateError

if TYPE_CHECKING:
    from query_http_client.sigv4 import SigV4Signer

    from query_migrate._aws import Aws

__all__ = [
    "Answer",
    "Caller",
    "HttpTarget",
    "InvokeTarget",
    "Target",
    "envelope_answer",
    "parse_target",
]


@dataclass(frozen=True)
class Answer:
    """One side's answer: status, headers (lower-case names), body; or the error instead."""

    status: int | None
    headers: dict[str, str]
    body: bytes
    ms: float
    error: str | None = None

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class Target(Protocol):
    """One path under test."""

    label: str

    async def send(self, body: bytes, request_id: str) -> Answer: ...

    async def aclose(self) -> None: ...


class HttpTarget:
    """``POST {base_url}/query/result`` over HTTP (httpx2), SigV4-signed when given a signer."""

    def __init__(
        self,
        base_url: str,
        *,
        concurrency: int,
        timeout: float,
        signer: SigV4Signer | None = None,
    ) -> None:
        self.label = base_url
        self._url = base_url.rstrip("/") + "/query/result"
        self._signer = signer
        self._client = httpx2.AsyncClient(
            timeout=httpx2.Timeout(timeout),
            limits=httpx2.Limits(
                max_connections=concurrency, max_keepalive_connections=concurrency
            ),
            follow_redirects=False,
        )

    async def send(self, body: bytes, request_id: str) -> Answer:
        headers: dict[str, str] = {"content-type": "application/json", "x-request-id": request_id}
        if self._signer is not None:
            headers = dict(self._signer("POST", self._url, headers, body))
        started = time.perf_counter()
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx2.HTTPError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return Answer(None, {}, b"", elapsed, error=f"{type(exc).__name__}: {exc}".strip())
        elapsed = (time.perf_counter() - started) * 1000
        return Answer(
            response.status_code,
            {name.lower(): value for name, value in response.headers.items()},
            response.content,
            elapsed,
        )

    async def aclose(self) -> None:
        await self._client.aclose()


class InvokeTarget:
    """A direct invocation of the Query Result Lambda (the old ``invoke_lambda`` path).

    The request id travels in the ClientContext, as the legacy source sends it; the answer is
    the ``{"statusCode", "headers", "body"}`` envelope, read as status, headers and body.
    """

    def __init__(self, function: str, aws: Aws) -> None:
        self.label = f"lambda:{function}"
        self._function = function
        self._aws = aws

    def _invoke(self, body: bytes, request_id: str) -> tuple[dict[str, Any], bytes]:
        from query_migrate._aws import aws_errors

        context = base64.b64encode(json.dumps({"custom": {"request_id": request_id}}).encode())
        with aws_errors(f"Invoke {self._function}"):
            response = self._aws.lambda_.invoke(
                FunctionName=self._function,
                InvocationType="RequestResponse",
                Payload=body,
                ClientContext=context.decode(),
            )
            payload = response["Payload"].read()
        return dict(response), payload

    async def send(self, body: bytes, request_id: str) -> Answer:
        started = time.perf_counter()
        try:
            response, payload = await asyncio.to_thread(self._invoke, body, request_id)
        except MigrateError as exc:
            return Answer(None, {}, b"", (time.perf_counter() - started) * 1000, error=str(exc))
        return envelope_answer(response, payload, (time.perf_counter() - started) * 1000)

    async def aclose(self) -> None:
        return None


@dataclass(frozen=True)
class Caller:
    """Who a ``query-lambda:`` side is invoked as: the test identity (its claim), or with
    ``as_owner`` each body's ``user_id``; ``function`` names the Query Lambda for an alias."""

    identity: str | None = None
    claim: str = "sub"
    as_owner: bool = False
    function: str | None = None
    #: The public API's id, in the events' ``apiId`` (the Query Lambda takes only its API's).
    api_id: str | None = None


def envelope_answer(response: dict[str, Any], payload: bytes, elapsed: float) -> Answer:
    """A Lambda's ``{"statusCode", "headers", "body"}`` answer to an Invoke, as an Answer."""
    if response.get("FunctionError"):
        return Answer(None, {}, payload, elapsed, error=f"FunctionError: {payload[:200]!r}")
    try:
        envelope = json.loads(payload)
        status = int(envelope["statusCode"])
        headers = {str(k).lower(): str(v) for k, v in (envelope.get("headers") or {}).items()}
        raw = envelope.get("body") or ""
        data = base64.b64decode(raw) if envelope.get("isBase64Encoded") else raw.encode()
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return Answer(None, {}, payload, elapsed, error=f"not a proxy envelope: {exc}")
    return Answer(status, headers, data, elapsed)


def parse_target(
    spec: str,
    aws: Aws,
    *,
    sigv4: bool = False,
    concurrency: int = 8,
    timeout: float = 10.0,
    signer: Callable[[], SigV4Signer] | None = None,
    caller: Caller | None = None,
) -> Target:
    """``lambda:FUNCTION``, ``query-lambda:ALIAS`` (invoked as ``caller``) or an http(s) base
    URL; ``sigv4`` signs with ``signer()`` (else ``aws.signer()``)."""
    if spec.startswith("lambda:"):
        return InvokeTarget(spec.removeprefix("lambda:"), aws)
    if spec.startswith("query-lambda:"):
        from query_migrate.shadow.query_lambda import QueryLambdaTarget, query_lambda_function

        caller = caller or Caller()
        return QueryLambdaTarget(
            query_lambda_function(spec, caller.function),
            aws,
            identity=caller.identity,
            claim=caller.claim,
            as_owner=caller.as_owner,
            api_id=caller.api_id,
        )
    if not spec.startswith(("http://", "https://")):
        raise MigrateError(
            f"{spec}: a target is an http(s) URL, lambda:FUNCTION or query-lambda:ALIAS"
        )
    sign = (signer or aws.signer)() if sigv4 else None
    return HttpTarget(spec, concurrency=concurrency, timeout=timeout, signer=sign)
