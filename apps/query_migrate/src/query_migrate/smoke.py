"""``smoke``: walk every hop reachable from here, each with its latency and verdict.

The public URL answers a page for a user, 410 on ``/query/marketing``, 422 on a bad body and
404 on ``/health`` (not public), each echoing its ``X-Request-Id``; the ALB answers
``/health`` and a page; the private API (SigV4) answers a page; a direct invocation of the
Query Result Lambda answers the proxy envelope. A hop that cannot be connected to from where
the tool runs (the ALB and the private API from a laptop) is "not reachable from here", not a
failure. Last, the public page's request id is looked up in each hop's log (CloudWatch Logs,
or the files of ``nox -s serve -- --log-dir DIR``) to prove that the request crossed them.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import httpx2

from query_migrate._aws import Aws, aws_errors
from query_migrate._checks import Check
from query_migrate._errors import AwsError
from query_migrate._inputs import Context

if TYPE_CHECKING:
    from query_http_client.sigv4 import SigV4Signer

__all__ = [
    "LOCAL_LOG_FILES",
    "LOG_HOPS",
    "CloudWatchLogs",
    "LocalLogs",
    "LogSource",
    "SmokeTargets",
    "existing_api_url",
    "parse_headers",
    "run_smoke",
]

#: The hops whose log lines carry X-Request-Id (the ``LogGroupNames`` keys). API Gateway's
#: access log (``internal-api``) records its own request id, so it is not searched.
LOG_HOPS = ("query-lambda", "service", "query-result-lambda")
#: The same hops in the log files ``nox -s serve -- --log-dir DIR`` writes.
LOCAL_LOG_FILES = {
    "query-lambda": "query-lambda.log",
    "service": "ecs-service.log",
    "query-result-lambda": "query-result-lambda.log",
}


class LogSource(Protocol):
    label: str

    def contains(self, hop: str, request_id: str, since_ms: int) -> bool | None:
        """Whether the hop's log has the id; None when the hop has no log here."""
        ...


@dataclass
class CloudWatchLogs:
    """The stack's log groups (output ``LogGroupNames``: ``hop=group,...``)."""

    aws: Aws
    groups: Mapping[str, str]
    label: str = "CloudWatch Logs"

    def contains(self, hop: str, request_id: str, since_ms: int) -> bool | None:
        group = self.groups.get(hop)
        if group is None:
            return None
        with aws_errors(f"FilterLogEvents {group}"):
            answer = self.aws.logs.filter_log_events(
                logGroupName=group, filterPattern=f'"{request_id}"', startTime=since_ms, limit=1
            )
        return any(request_id in event.get("message", "") for event in answer.get("events", []))


@dataclass
class LocalLogs:
    """The log files of the local chain (``nox -s serve -- --log-dir DIR``)."""

    directory: Path
    label: str = "local log files"

    def contains(self, hop: str, request_id: str, since_ms: int) -> bool | None:
        path = self.directory / LOCAL_LOG_FILES[hop]
        if not path.exists():
            return None
        needle = f'"request_id": "{request_id}"'.encode()
        return needle in path.read_bytes()


@dataclass
class SmokeTargets:
    public_url: str | None = None
    service_url: str | None = None
    internal_api_url: str | None = None
    query_result_function: str | None = None
    public_headers: dict[str, str] = field(default_factory=dict)
    public_signer: SigV4Signer | None = None
    internal_signer: SigV4Signer | None = None


class _Hop:
    """HTTP calls to one base URL, timed; a connection failure means "not reachable"."""

    def __init__(
        self,
        client: httpx2.Client,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        signer: SigV4Signer | None = None,
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._headers = dict(headers or {})
        self._signer = signer

    def call(
        self, method: str, path: str, request_id: str, body: bytes = b""
    ) -> tuple[httpx2.Response, float]:
        url = self._base + path
        headers = {**self._headers, "x-request-id": request_id}
        if body:
            headers["content-type"] = "application/json"
        if self._signer is not None:
            headers = dict(self._signer(method, url, headers, body))
        started = time.perf_counter()
        response = self._client.request(method, url, content=body or None, headers=headers)
        return response, (time.perf_counter() - started) * 1000


_UNREACHABLE = (httpx2.ConnectError, httpx2.ConnectTimeout)


def _page_problem(response: httpx2.Response, user: str) -> str | None:
    if response.status_code != 200:
        return f"status {response.status_code}: {response.text[:120]}"
    try:
        page = response.json()
    except ValueError:
        return "the body is not JSON"
    if not isinstance(page, dict) or not isinstance(page.get("items"), list):
        return f"not a page: {response.text[:120]}"
    if page.get("user_id") != user or page.get("count") != len(page["items"]):
        return "user_id or count do not match the page"
    return None


def _echo_problem(response: httpx2.Response, request_id: str) -> str | None:
    echoed = response.headers.get("x-request-id")
    return None if echoed == request_id else f"X-Request-Id {echoed!r}, sent {request_id!r}"


def _expect(
    name: str,
    hop: _Hop,
    method: str,
    path: str,
    request_id: str,
    *,
    status: int,
    body: bytes = b"",
    user: str | None = None,
) -> Check:
    try:
        response, ms = hop.call(method, path, request_id, body)
    except _UNREACHABLE as exc:
        return Check.skipped(name, f"not reachable from here ({type(exc).__name__})")
    except httpx2.HTTPError as exc:
        return Check.fail(name, f"{type(exc).__name__}: {exc}", "see the hop's logs")
    problem = (
        _page_problem(response, user)
        if user is not None
        else (None if response.status_code == status else f"status {response.status_code}")
    )
    problem = problem or _echo_problem(response, request_id)
    if problem:
        return Check.fail(name, problem, "see the hop's logs for this request id", latency_ms=ms)
    detail = f"{response.status_code}"
    if user is not None:
        detail += f", {response.json()['count']} item(s)"
    return Check.ok(name, f"{detail}, X-Request-Id echoed", latency_ms=ms)


def _invoke(aws: Aws, function: str, user: str, request_id: str) -> Check:
    name = "Query Result Lambda: direct invocation"
    context = base64.b64encode(json.dumps({"custom": {"request_id": request_id}}).encode())
    started = time.perf_counter()
    try:
        with aws_errors(f"Invoke {function}"):
            response = aws.lambda_.invoke(
                FunctionName=function,
                Payload=json.dumps({"user_id": user, "limit": 1}).encode(),
                ClientContext=context.decode(),
            )
            payload = response["Payload"].read()
    except AwsError as exc:
        return Check.fail(name, str(exc), "check the name and lambda:InvokeFunction for you")
    ms = (time.perf_counter() - started) * 1000
    try:
        envelope = json.loads(payload)
        status = envelope["statusCode"]
        page = json.loads(envelope["body"])
    except (ValueError, KeyError, TypeError) as exc:
        return Check.fail(
            name, f"not a proxy envelope ({exc})", "see the function's log", latency_ms=ms
        )
    if response.get("FunctionError") or status != 200 or "items" not in page:
        return Check.fail(
            name, f"status {status}: {payload[:120]!r}", "see the function's log", latency_ms=ms
        )
    return Check.ok(name, f"200 envelope, {len(page['items'])} item(s)", latency_ms=ms)


def run_smoke(
    aws: Aws,
    targets: SmokeTargets,
    *,
    user: str,
    logs: LogSource | None,
    log_wait: float,
    timeout: float,
) -> tuple[list[Check], str]:
    """Every check, and the stem of the request ids sent (``smoke-…``)."""
    stem = f"smoke-{uuid.uuid4().hex[:12]}"
    since_ms = int(time.time() * 1000) - 60_000
    page = json.dumps({"user_id": user, "limit": 2}).encode()
    checks: list[Check] = []
    crossed: str | None = None
    with httpx2.Client(timeout=httpx2.Timeout(timeout), follow_redirects=False) as client:
        if targets.public_url:
            public = _Hop(
                client,
                targets.public_url,
                headers=targets.public_headers,
                signer=targets.public_signer,
            )
            crossed = f"{stem}-public"
            checks += [
                _expect(
                    "public: a page",
                    public,
                    "POST",
                    "/query/result",
                    crossed,
                    status=200,
                    body=page,
                    user=user,
                ),
                _expect(
                    "public: /query/marketing is 410",
                    public,
                    "POST",
                    "/query/marketing",
                    f"{stem}-retired",
                    status=410,
                    body=page,
                ),
                _expect(
                    "public: a bad body is 422",
                    public,
                    "POST",
                    "/query/result",
                    f"{stem}-invalid",
                    status=422,
                    body=b'{"user_id": "u-1", "unknown": 1}',
                ),
                _expect(
                    "public: /health is not public",
                    public,
                    "GET",
                    "/health",
                    f"{stem}-health",
                    status=404,
                ),
            ]
            if checks[0].verdict.value != "ok":
                crossed = None
        else:
            checks.append(Check.skipped("public URL", "no --public-url (PublicApiUrl)"))
        if targets.service_url:
            alb = _Hop(client, targets.service_url)
            checks += [
                _expect("ALB: /health", alb, "GET", "/health", f"{stem}-alb-health", status=200),
                _expect(
                    "ALB: a page",
                    alb,
                    "POST",
                    "/query/result",
                    f"{stem}-alb",
                    status=200,
                    body=page,
                    user=user,
                ),
            ]
        else:
            checks.append(Check.skipped("ALB", "no --service-url (ServiceUrl)"))
        if targets.internal_api_url:
            private = _Hop(client, targets.internal_api_url, signer=targets.internal_signer)
            checks.append(
                _expect(
                    "private API: a page",
                    private,
                    "POST",
                    "/query/result",
                    f"{stem}-private",
                    status=200,
                    body=page,
                    user=user,
                )
            )
        else:
            checks.append(Check.skipped("private API", "no --internal-api-url (InternalApiUrl)"))
    if targets.query_result_function:
        checks.append(_invoke(aws, targets.query_result_function, user, f"{stem}-invoke"))
    else:
        checks.append(
            Check.skipped(
                "Query Result Lambda", "no --query-result-lambda (QueryResultFunctionName)"
            )
        )
    checks += _logs(logs, crossed, since_ms, log_wait)
    return checks, stem


def _logs(
    logs: LogSource | None, request_id: str | None, since_ms: int, wait: float
) -> list[Check]:
    if logs is None:
        return [Check.skipped("logs", "no --log-groups (LogGroupNames) and no --log-dir")]
    if request_id is None:
        return [Check.skipped("logs", "the public page did not succeed: nothing to follow")]
    pending = dict.fromkeys(LOG_HOPS)
    found: dict[str, bool | None] = {}
    deadline = time.monotonic() + wait
    try:
        while True:
            for hop in list(pending):
                seen = logs.contains(hop, request_id, since_ms)
                if seen is not False:
                    found[hop] = seen
                    del pending[hop]
            if not pending or time.monotonic() >= deadline:
                break
            time.sleep(min(2.0, max(0.1, wait / 10)))
    except AwsError as exc:
        return [Check.fail("logs", str(exc), "logs:FilterLogEvents on the stack's log groups")]
    checks = []
    for hop in LOG_HOPS:
        name = f"log: {hop}"
        if hop in pending:
            detail = f"{request_id} not found in {wait:g} s ({logs.label})"
            fix = "the request did not cross this hop, or its logs lag: rerun"
            checks.append(Check.fail(name, detail, fix))
        elif found[hop] is None:
            checks.append(Check.skipped(name, f"no log for this hop ({logs.label})"))
        else:
            checks.append(Check.ok(name, f"{request_id} found ({logs.label})"))
    return checks


def existing_api_url(context: Context, aws: Aws) -> str | None:
    """The existing public API's stage URL (``existingPublicApiId`` mode), if the context has it."""
    api_id = context.string("existingPublicApiId")
    if not api_id:
        return None
    stage = context.string("existingPublicApiStage") or "prod"
    return f"https://{api_id}.execute-api.{aws.region}.amazonaws.com/{stage}"


def parse_headers(values: tuple[str, ...]) -> dict[str, str]:
    headers = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"--header {value!r}: expected 'Name: value'")
        headers[name.strip()] = content.strip()
    return headers
