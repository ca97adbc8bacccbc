import base64
import json

import pytest
from query_core import InvalidBodyError, QueryRequest, UnsupportedEventError
from query_core.events import LambdaRequest, decode_event, proxy_response


def rest_event(**overrides):
    event = {
        "resource": "/query/result",
        "path": "/query/result",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json", "X-Request-Id": "single"},
        "multiValueHeaders": {"Content-Type": ["application/json"], "X-Request-Id": ["a", "b"]},
        "queryStringParameters": {"x": "2"},
        "multiValueQueryStringParameters": {"x": ["1", "2"]},
        "requestContext": {"stage": "prod", "requestId": "gw-id", "path": "/prod/query/result"},
        "body": '{"user_id": "u"}',
        "isBase64Encoded": False,
    }
    event.update(overrides)
    return event


def http_event(**overrides):
    event = {
        "version": "2.0",
        "routeKey": "POST /query/result",
        "rawPath": "/prod/query/result",
        "rawQueryString": "x=1&x=2&empty=",
        "cookies": ["a=1", "b=2"],
        "headers": {"content-type": "application/json", "x-request-id": "h"},
        "requestContext": {
            "http": {"method": "post", "path": "/prod/query/result"},
            "requestId": "gw2-id",
            "stage": "prod",
        },
        "body": '{"user_id": "u"}',
        "isBase64Encoded": False,
    }
    event.update(overrides)
    return event


def test_rest_v1_event():
    request = decode_event(rest_event())
    assert request == LambdaRequest(
        source="rest_v1",
        method="POST",
        path="/query/result",
        raw_body='{"user_id": "u"}',
        headers={"content-type": "application/json", "x-request-id": "b"},
        query=(("x", "1"), ("x", "2")),
        request_id="gw-id",
        request_context={"stage": "prod", "requestId": "gw-id", "path": "/prod/query/result"},
    )
    assert request.header("X-Request-ID") == "b"


def test_rest_v1_single_value_query_and_no_headers():
    event = rest_event(multiValueQueryStringParameters=None, headers=None, multiValueHeaders=None)
    request = decode_event(event)
    assert request.query == (("x", "2"),)
    assert request.headers == {}


def test_http_api_v2_event_strips_the_stage():
    request = decode_event(http_event())
    assert request.source == "http_v2"
    assert request.method == "POST"
    assert request.path == "/query/result"
    assert request.query == (("x", "1"), ("x", "2"), ("empty", ""))
    assert request.header("cookie") == "a=1; b=2"
    assert request.request_id == "gw2-id"


def test_http_api_v2_default_stage_keeps_the_path():
    event = http_event(rawPath="/query/result")
    event["requestContext"]["stage"] = "$default"
    assert decode_event(event).path == "/query/result"


def test_direct_invocation_is_a_post_of_the_event():
    request = decode_event({"user_id": "u-1", "limit": 3})
    assert (request.source, request.method, request.path) == ("direct", "POST", "/query/result")
    assert request.request_id is None
    assert json.loads(request.body or b"") == {"user_id": "u-1", "limit": 3}


@pytest.mark.parametrize("make", [rest_event, http_event])
def test_base64_bodies_are_decoded(make):
    body = base64.b64encode(b'{"user_id": "u-b64"}').decode()
    request = decode_event(make(body=body, isBase64Encoded=True))
    assert request.body == b'{"user_id": "u-b64"}'


@pytest.mark.parametrize("make", [rest_event, http_event])
def test_bad_base64_is_a_bad_body_but_keeps_the_headers(make):
    request = decode_event(make(body="%%%not-base64", isBase64Encoded=True))
    assert request.header("x-request-id") is not None
    with pytest.raises(InvalidBodyError, match="base64"):
        _ = request.body


@pytest.mark.parametrize("make", [rest_event, http_event])
@pytest.mark.parametrize(("body", "expected"), [(None, None), ("", b""), ("not json", b"not json")])
def test_missing_empty_and_non_json_bodies_pass_through(make, body, expected):
    assert decode_event(make(body=body)).body == expected


@pytest.mark.parametrize("event", [None, "text", 42, ["user_id"]])
def test_unknown_shapes_are_refused(event):
    with pytest.raises(UnsupportedEventError):
        decode_event(event)


@pytest.mark.parametrize(
    "event",
    [
        rest_event(headers=["Content-Type"]),
        rest_event(headers="Content-Type: application/json"),
        rest_event(multiValueHeaders={"X-Request-Id": 5}),
        rest_event(multiValueHeaders=[["X-Request-Id", "a"]]),
        rest_event(multiValueQueryStringParameters={"x": 1}),
        rest_event(multiValueQueryStringParameters=None, queryStringParameters=["x"]),
        http_event(headers=["content-type"]),
        http_event(requestContext=["http"]),
        http_event(requestContext={"http": "POST /query/result", "stage": "prod"}),
        http_event(cookies="a=1"),
    ],
)
def test_a_gateway_event_with_a_field_of_the_wrong_type_is_refused(event):
    # Only a direct invocation can send these; the answer is a 400, not a 500 further on.
    with pytest.raises(UnsupportedEventError):
        decode_event(event)


def test_a_stage_that_is_not_text_is_ignored():
    event = http_event(rawPath="/5/query/result")
    event["requestContext"]["stage"] = 5
    assert decode_event(event).path == "/5/query/result"


def test_event_without_a_gateway_request_id_has_none():
    assert decode_event(rest_event(requestContext={"stage": "prod"})).request_id is None


def test_proxy_response_shapes():
    model = QueryRequest(user_id="u")
    response = proxy_response(200, model, {"X-Request-Id": "r"})
    assert response == {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-request-id": "r"},
        "body": model.model_dump_json(),
        "isBase64Encoded": False,
    }
    assert json.loads(proxy_response(404, {"detail": "Not Found"})["body"]) == {
        "detail": "Not Found"
    }
    assert proxy_response(200, '{"raw": true}')["body"] == '{"raw": true}'
