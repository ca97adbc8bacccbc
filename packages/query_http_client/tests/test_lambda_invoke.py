"""LambdaInvokeTransport: boto3 ``Invoke`` against a real HTTP server on 127.0.0.1 that
answers as Lambda's Invoke API does (and misbehaves on request)."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from query_core import QueryRequest, QueryResponse
from query_devstack import MisbehavingServer, RecordedRequest, Reply
from query_http_client import (
    AsyncQueryClient,
    CircuitBreaker,
    QueryClient,
    Resilience,
    RetryPolicy,
    UpstreamBadResponseError,
    UpstreamMisconfiguredError,
    UpstreamRejectedError,
    UpstreamThrottledError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from query_http_client.lambda_invoke import LambdaInvokeTransport

FUNCTION = "query_result_lambda"
PAGE = {"user_id": "u-1", "items": [], "count": 0, "next_token": None}
REQUEST = QueryRequest(user_id="u-1", limit=5)
FAST = RetryPolicy(deadline=3.0, attempt_timeout=1.0, max_attempts=3, backoff_base=0.01)


pytestmark = pytest.mark.usefixtures("fake_aws_credentials")


def invoked(body: object, **headers: str) -> Reply:
    """Lambda's answer to a RequestResponse invocation: 200 and the function's JSON."""
    return Reply(
        body=json.dumps(body).encode(), headers={"content-type": "application/json", **headers}
    )


def lambda_api_error(status: int, code: str) -> Reply:
    """An error of the Lambda API itself (not of the function), as botocore reads it."""
    headers = {"content-type": "application/json", "x-amzn-errortype": code}
    body = json.dumps({"Type": "User", "message": code}).encode()
    return Reply(status=status, body=body, headers=headers)


def envelope(status: int, body: object) -> dict[str, object]:
    return {"statusCode": status, "headers": {}, "body": json.dumps(body)}


def transport(url: str) -> LambdaInvokeTransport:
    return LambdaInvokeTransport(FUNCTION, region="us-east-1", endpoint_url=url, read_timeout=1.0)


def call_sync(url: str, resilience: Resilience | None = None) -> QueryResponse:
    with QueryClient(transport(url), resilience=resilience) as client:
        return client.query(REQUEST, request_id="req-7")


def call_async(url: str, resilience: Resilience | None = None) -> QueryResponse:
    async def go() -> QueryResponse:
        async with AsyncQueryClient(transport(url), resilience=resilience) as client:
            return await client.query(REQUEST, request_id="req-7")

    return asyncio.run(go())


CALLERS = pytest.mark.parametrize("call", [call_sync, call_async], ids=["sync", "async"])


def client_context(request: RecordedRequest) -> dict[str, object]:
    return json.loads(base64.b64decode(request.headers["x-amz-client-context"]))


@CALLERS
def test_invoke_sends_the_request_as_the_event_and_unwraps_the_envelope(call):
    with MisbehavingServer(invoked(envelope(200, PAGE))) as server:
        page = call(server.url)
    assert page == QueryResponse.model_validate(PAGE)
    (sent,) = server.requests
    assert (sent.method, sent.target) == (
        "POST",
        f"/2015-03-31/functions/{FUNCTION}/invocations",
    )
    assert json.loads(sent.body) == {"user_id": "u-1", "limit": 5}
    assert sent.headers["x-amz-invocation-type"] == "RequestResponse"
    assert client_context(sent) == {"custom": {"request_id": "req-7"}}
    assert sent.headers["authorization"].startswith("AWS4-HMAC-SHA256")


@CALLERS
def test_a_function_error_is_a_bad_response(call):
    failure = {"errorMessage": "boom", "errorType": "KeyError", "stackTrace": []}
    with MisbehavingServer(invoked(failure, **{"x-amz-function-error": "Unhandled"})) as server:
        with pytest.raises(UpstreamBadResponseError, match="KeyError") as caught:
            call(server.url)
    assert caught.value.retryable is False


@CALLERS
def test_a_4xx_in_the_envelope_is_the_requests_own_fault(call):
    reply = invoked(envelope(400, {"detail": "next_token is malformed"}))
    with MisbehavingServer(reply) as server, pytest.raises(UpstreamRejectedError) as caught:
        call(server.url)
    assert (caught.value.status_code, caught.value.detail) == (400, "next_token is malformed")


@CALLERS
@pytest.mark.parametrize(
    ("reply", "error", "attempts"),
    [
        (lambda_api_error(429, "TooManyRequestsException"), UpstreamThrottledError, 3),
        (lambda_api_error(500, "ServiceException"), UpstreamUnavailableError, 3),
        (lambda_api_error(404, "ResourceNotFoundException"), UpstreamMisconfiguredError, 1),
        (lambda_api_error(403, "AccessDeniedException"), UpstreamMisconfiguredError, 1),
        (lambda_api_error(400, "InvalidRequestContentException"), UpstreamBadResponseError, 1),
    ],
    ids=["throttled", "service-error", "no-such-function", "denied", "invalid-content"],
)
def test_lambda_api_errors_are_translated_and_retried_by_the_client(call, reply, error, attempts):
    with MisbehavingServer(reply) as server, pytest.raises(error) as caught:
        call(server.url, Resilience(FAST))
    assert caught.value.attempts == attempts
    assert len(server.requests) == attempts  # botocore's own retries are off


def test_a_misconfiguration_says_what_to_check():
    with MisbehavingServer(lambda_api_error(404, "ResourceNotFoundException")) as server:
        with pytest.raises(UpstreamMisconfiguredError) as caught:
            call_sync(server.url)
    assert caught.value.error_type == "ResourceNotFoundException"
    assert "lambda:InvokeFunction" in caught.value.likely_cause


@CALLERS
def test_a_hung_function_is_a_timeout_and_is_retried(call):
    # The page would come after 3 s, past each 1 s attempt: the retry gets the quick one.
    replies = iter([Reply(delay=3, body=json.dumps(envelope(200, PAGE)).encode())])

    def choose(_request: RecordedRequest) -> Reply:
        return next(replies, invoked(envelope(200, PAGE)))

    with MisbehavingServer(choose) as server:
        assert call(server.url, Resilience(FAST)).count == 0
    assert len(server.requests) == 2


@CALLERS
def test_a_hung_function_past_the_deadline_is_a_timeout(call):
    policy = RetryPolicy(deadline=1.5, attempt_timeout=0.5, max_attempts=3, backoff_base=0.01)
    with MisbehavingServer(Reply(delay=5)) as server, pytest.raises(UpstreamTimeoutError):
        call(server.url, Resilience(policy))


@CALLERS
def test_an_unreachable_lambda_api_is_unavailable(call):
    with MisbehavingServer() as server:
        url = server.url
    with pytest.raises(UpstreamUnavailableError) as caught:
        call(url, Resilience(FAST))
    assert caught.value.attempts == 3


def test_the_breaker_guards_the_rollback_path_too():
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=60)
    policy = RetryPolicy(deadline=2, attempt_timeout=1, max_attempts=1)
    with MisbehavingServer(lambda_api_error(429, "TooManyRequestsException")) as server:
        for _ in range(2):
            with pytest.raises(UpstreamThrottledError):
                call_sync(server.url, Resilience(policy, breaker=breaker))
        with pytest.raises(UpstreamUnavailableError, match="circuit is open"):
            call_sync(server.url, Resilience(policy, breaker=breaker))
    assert len(server.requests) == 2


def test_unopened_async_transport_says_so():
    async def go() -> None:
        await AsyncQueryClient(transport("http://127.0.0.1:9")).query(REQUEST)

    with pytest.raises(RuntimeError, match="not open"):
        asyncio.run(go())
