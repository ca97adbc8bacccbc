"""The same app on Lambda through Mangum: REST (v1) and HTTP API (v2) events."""

from __future__ import annotations

import json
from typing import Any

import pytest


def rest_event(method: str, path: str, body: str | None) -> dict[str, Any]:
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json", "Host": "x.execute-api.example"},
        "multiValueHeaders": {
            "Content-Type": ["application/json"],
            "Host": ["x.execute-api.example"],
        },
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "stage": "prod",
            "path": "/prod" + path,
            "requestId": "gw-rest-1",
            "identity": {"sourceIp": "10.0.0.1"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def http_event(method: str, path: str, body: str | None) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "y.execute-api.example"},
        "requestContext": {
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "10.0.0.1",
                "userAgent": "test",
            },
            "requestId": "gw-http-1",
            "stage": "$default",
            "routeKey": "$default",
        },
        "body": body,
        "isBase64Encoded": False,
    }


@pytest.fixture
def lambda_handler(lambda_handler_factory):
    return lambda_handler_factory()


@pytest.mark.parametrize(
    ("make_event", "gateway_request_id"),
    [(rest_event, "gw-rest-1"), (http_event, "gw-http-1")],
    ids=["rest_v1", "http_v2"],
)
def test_page_through_mangum(
    lambda_handler, lambda_context, upstream, page, make_event, gateway_request_id
):
    response = lambda_handler(
        make_event("POST", "/query/result", '{"user_id": "u-1"}'), lambda_context
    )
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == page
    # Without a caller's X-Request-Id, the event's own API Gateway request id is the one.
    assert upstream.requests[0].headers["x-request-id"] == gateway_request_id
    assert response["headers"]["x-request-id"] == gateway_request_id


@pytest.mark.parametrize("make_event", [rest_event, http_event], ids=["rest_v1", "http_v2"])
def test_contract_answers_through_mangum(lambda_handler, lambda_context, make_event):
    gone = lambda_handler(make_event("GET", "/query/marketing", None), lambda_context)
    assert gone["statusCode"] == 410
    bad = lambda_handler(make_event("POST", "/query/result", "{nope"), lambda_context)
    assert (bad["statusCode"], json.loads(bad["body"])) == (
        400,
        {"detail": "request body is not valid JSON"},
    )
