"""Both clients against a real HTTP server on 127.0.0.1 that misbehaves on request."""

from __future__ import annotations

import asyncio
import json

import pytest
from query_core import QueryRequest, QueryResponse
from query_devstack import MisbehavingServer, Reply
from query_http_client import (
    MAX_RESPONSE_BYTES,
    AiohttpTransport,
    AsyncQueryClient,
    QueryClient,
    UpstreamBadResponseError,
    UpstreamMisconfiguredError,
    UpstreamRejectedError,
    UpstreamThrottledError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
    Urllib3Transport,
)

PAGE = {
    "user_id": "u-1",
    "items": [
        {
            "result_id": "01J",
            "user_id": "u-1",
            "ap_id": "ap-a",
            "status": "done",
            "created_at": "2026-01-01T00:00:00Z",
            "data": {"n": 1},
        }
    ],
    "count": 1,
    "next_token": None,
}
REQUEST = QueryRequest(user_id="u-1", ap_id="ap-a", limit=5)


def ok(body: object = PAGE, **kwargs: object) -> Reply:
    return Reply(body=json.dumps(body).encode(), **kwargs)  # type: ignore[arg-type]


def call_sync(url: str, timeout: float = 2.0) -> QueryResponse:
    with QueryClient(Urllib3Transport(url), timeout=timeout) as client:
        return client.query(REQUEST, request_id="req-1")


def call_async(url: str, timeout: float = 2.0) -> QueryResponse:
    async def go() -> QueryResponse:
        async with AsyncQueryClient(AiohttpTransport(url), timeout=timeout) as client:
            return await client.query(REQUEST, request_id="req-1")

    return asyncio.run(go())


CALLERS = pytest.mark.parametrize("call", [call_sync, call_async], ids=["sync", "async"])


@CALLERS
def test_page_is_returned_and_request_is_forwarded(call):
    with MisbehavingServer(ok()) as server:
        page = call(server.url + "/prod")
    assert page == QueryResponse.model_validate(PAGE)
    (request,) = server.requests
    assert (request.method, request.target) == ("POST", "/prod/query/result")
    assert json.loads(request.body) == {"user_id": "u-1", "ap_id": "ap-a", "limit": 5}
    assert request.headers["x-request-id"] == "req-1"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "query-http-client/0.1"  # not the library's own


@CALLERS
def test_a_lambda_envelope_is_unwrapped(call):
    envelope = {"statusCode": 200, "headers": {}, "body": json.dumps(PAGE)}
    with MisbehavingServer(ok(envelope)) as server:
        assert call(server.url).count == 1


@CALLERS
def test_an_envelope_carrying_an_error_is_that_error(call):
    envelope = {"statusCode": 400, "body": json.dumps({"detail": TOKEN_DETAIL})}
    with MisbehavingServer(ok(envelope)) as server, pytest.raises(UpstreamRejectedError) as caught:
        call(server.url)
    assert (caught.value.status_code, caught.value.detail) == (400, TOKEN_DETAIL)


TOKEN_DETAIL = "next_token is malformed"
VALIDATION_DETAIL = [{"loc": ["body", "limit"], "msg": "too big", "type": "less_than_equal"}]


@CALLERS
@pytest.mark.parametrize(
    ("status", "detail", "passed_on"),
    [
        (400, TOKEN_DETAIL, TOKEN_DETAIL),
        (400, "arn:aws:dynamodb:us-east-1:1:table/x is broken", "the request is not valid"),
        (422, VALIDATION_DETAIL, VALIDATION_DETAIL),
        (
            422,
            "nope",
            [
                {
                    "loc": ["body"],
                    "msg": "the request body breaks the field rules",
                    "type": "value_error",
                }
            ],
        ),
    ],
    ids=["400-contract", "400-foreign", "422-contract", "422-foreign"],
)
def test_4xx_about_the_request_passes_on_only_the_contracts_detail(call, status, detail, passed_on):
    with MisbehavingServer(ok({"detail": detail}, status=status)) as server:
        with pytest.raises(UpstreamRejectedError) as caught:
            call(server.url)
    assert (caught.value.status_code, caught.value.detail) == (status, passed_on)
    assert caught.value.upstream_detail == detail


@CALLERS
@pytest.mark.parametrize("status", [404, 405, 413, 409])
def test_other_4xx_mean_we_called_it_wrong(call, status):
    with MisbehavingServer(ok({"detail": "Not Found"}, status=status)) as server:
        with pytest.raises(UpstreamBadResponseError) as caught:
            call(server.url)
    assert (caught.value.status_code, caught.value.upstream_status) == (502, status)
    assert caught.value.retryable is False


@CALLERS
@pytest.mark.parametrize(
    ("error_type", "hint"),
    [
        ("ForbiddenException", "aws:SourceVpce"),
        ("AccessDeniedException", "execute-api:Invoke"),
        ("MissingAuthenticationTokenException", "stage"),
        ("", "aws:SourceVpce"),
    ],
)
def test_api_gateway_403_is_a_misconfiguration_with_a_likely_cause(call, error_type, hint):
    headers = {"content-type": "application/json"}
    if error_type:
        headers["x-amzn-ErrorType"] = f"{error_type}:http://internal.amazon.com/coral/"
    reply = ok({"message": "Forbidden"}, status=403, headers=headers)
    with MisbehavingServer(reply) as server, pytest.raises(UpstreamMisconfiguredError) as caught:
        call(server.url)
    assert caught.value.error_type == (error_type or "Forbidden")
    assert hint in caught.value.likely_cause


@CALLERS
def test_429_is_throttling_with_its_retry_after(call):
    reply = ok(
        {"message": "Too Many Requests"},
        status=429,
        headers={"Retry-After": "3", "content-type": "application/json"},
    )
    with MisbehavingServer(reply) as server, pytest.raises(UpstreamThrottledError) as caught:
        call(server.url)
    assert caught.value.retry_after == 3


@CALLERS
@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [
        (500, UpstreamBadResponseError, False),
        (502, UpstreamBadResponseError, True),
        (503, UpstreamUnavailableError, True),
        (504, UpstreamTimeoutError, True),
    ],
)
def test_5xx_answers(call, status, error, retryable):
    with MisbehavingServer(ok({"message": "Internal server error"}, status=status)) as server:
        with pytest.raises(error) as caught:
            call(server.url)
    assert caught.value.upstream_status == status
    assert caught.value.retryable is retryable


@CALLERS
def test_throttling_error_type_is_throttling_whatever_the_status(call):
    reply = ok(
        {"message": "Rate exceeded"},
        status=400,
        headers={"x-amzn-ErrorType": "ThrottlingException"},
    )
    with MisbehavingServer(reply) as server, pytest.raises(UpstreamThrottledError):
        call(server.url)


@CALLERS
def test_lambda_error_shape_is_a_bad_response(call):
    body = {"errorMessage": "boom", "errorType": "KeyError", "stackTrace": ["..."]}
    with MisbehavingServer(ok(body)) as server, pytest.raises(UpstreamBadResponseError) as caught:
        call(server.url)
    assert "KeyError" in str(caught.value)


@CALLERS
@pytest.mark.parametrize(
    "body",
    [b"<html>oops</html>", b"", b'{"user_id": "u-1"}', b"[]", b'{"statusCode": 200, "body": "x"}'],
)
def test_unusable_200_bodies_are_bad_responses(call, body):
    with MisbehavingServer(Reply(body=body)) as server, pytest.raises(UpstreamBadResponseError):
        call(server.url)


@CALLERS
def test_slow_answer_is_a_timeout_within_the_deadline(call):
    # The page would arrive after 3 s: a timeout (not the page) shows the call was cut.
    with MisbehavingServer(ok(delay=3)) as server, pytest.raises(UpstreamTimeoutError):
        call(server.url, timeout=0.5)


@CALLERS
def test_trickling_body_is_a_timeout(call):
    reply = ok({"pad": "x" * 400}, trickle_bytes=20, trickle_pause=0.1)
    with MisbehavingServer(reply) as server, pytest.raises(UpstreamTimeoutError):
        call(server.url, timeout=0.5)


@CALLERS
def test_connection_refused_is_unavailable(call):
    with MisbehavingServer() as server:
        url = server.url
    with pytest.raises(UpstreamUnavailableError):
        call(url)


@CALLERS
def test_closed_without_answer_is_unavailable_or_bad(call):
    with MisbehavingServer(Reply(close_without_answer=True)) as server:
        with pytest.raises((UpstreamUnavailableError, UpstreamBadResponseError)):
            call(server.url)


@CALLERS
def test_reset_mid_body_is_a_bad_response(call):
    with MisbehavingServer(ok({"pad": "x" * 5000}, reset_after=100)) as server:
        with pytest.raises((UpstreamBadResponseError, UpstreamUnavailableError)):
            call(server.url)


@CALLERS
def test_oversized_body_is_refused(call):
    body = b'{"pad": "' + b"x" * (MAX_RESPONSE_BYTES + 10) + b'"}'
    with MisbehavingServer(Reply(body=body)) as server:
        with pytest.raises(UpstreamBadResponseError, match="too large"):
            call(server.url)


def test_async_client_reuses_its_connections():
    async def go(url: str) -> None:
        async with AsyncQueryClient(AiohttpTransport(url)) as client:
            for _ in range(5):
                await client.query(REQUEST)

    with MisbehavingServer(ok()) as server:
        asyncio.run(go(server.url))
    assert len(server.requests) == 5
    assert server.connections == 1


def test_sync_client_reuses_its_connections():
    with MisbehavingServer(ok()) as server, QueryClient(Urllib3Transport(server.url)) as client:
        for _ in range(5):
            client.query(REQUEST)
    assert server.connections == 1


def test_unopened_async_client_says_so():
    client = AsyncQueryClient(AiohttpTransport("http://127.0.0.1:9"))
    with pytest.raises(RuntimeError, match="not open"):
        asyncio.run(client.query(REQUEST))


@pytest.mark.parametrize("transport", [Urllib3Transport, AiohttpTransport])
@pytest.mark.parametrize("url", ["ftp://x", "127.0.0.1:8000", ""])
def test_bad_base_url_is_refused(transport, url):
    with pytest.raises(ValueError, match="http"):
        transport(url)


def test_signer_sees_the_request_and_adds_headers():
    seen = []

    def signer(method, url, headers, body):
        seen.append((method, url, body))
        return {**headers, "Authorization": "AWS4-HMAC-SHA256 test"}

    with MisbehavingServer(ok()) as server:
        with QueryClient(Urllib3Transport(server.url, signer=signer)) as client:
            client.query(REQUEST)
    assert seen == [
        ("POST", server.url + "/query/result", REQUEST.model_dump_json(exclude_none=True).encode())
    ]
    assert server.requests[0].headers["authorization"] == "AWS4-HMAC-SHA256 test"


def call_json_sync(url: str) -> bytes:
    with QueryClient(Urllib3Transport(url)) as client:
        return client.query_json(REQUEST, request_id="req-1")


def call_json_async(url: str) -> bytes:
    async def go() -> bytes:
        async with AsyncQueryClient(AiohttpTransport(url)) as client:
            return await client.query_json(REQUEST, request_id="req-1")

    return asyncio.run(go())


JSON_CALLERS = pytest.mark.parametrize(
    "call", [call_json_sync, call_json_async], ids=["sync", "async"]
)


@JSON_CALLERS
def test_query_json_sends_on_the_upstreams_own_bytes_when_exactly_a_page(call):
    raw = json.dumps(PAGE, indent=1).encode()  # any formatting: the bytes are the upstream's
    with MisbehavingServer(Reply(body=raw)) as server:
        assert call(server.url) == raw


@JSON_CALLERS
def test_query_json_unwraps_an_envelope(call):
    inner = json.dumps(PAGE).encode()
    envelope = {"statusCode": 200, "headers": {}, "body": inner.decode()}
    with MisbehavingServer(ok(envelope)) as server:
        assert call(server.url) == inner


@JSON_CALLERS
def test_query_json_drops_fields_the_contract_lacks(call):
    extra = {**PAGE, "debug": "arn:aws:dynamodb:x"}
    extra["items"] = [{**PAGE["items"][0], "marketing_id": "m-1"}]
    with MisbehavingServer(ok(extra)) as server:
        sent = json.loads(call(server.url))
    assert sent == PAGE


@JSON_CALLERS
@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(body=b"<html>"), UpstreamBadResponseError),
        (Reply(body=b'{"user_id": "u", "items": [], "count": 3}'), UpstreamBadResponseError),
        (Reply(status=400, body=b'{"detail": "next_token is malformed"}'), UpstreamRejectedError),
        (Reply(status=503, body=b"{}"), UpstreamUnavailableError),
    ],
)
def test_query_json_raises_as_query_does(call, reply, error):
    with MisbehavingServer(reply) as server, pytest.raises(error):
        call(server.url)
