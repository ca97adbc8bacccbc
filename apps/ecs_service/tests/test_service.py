"""The service over real HTTP: routes, the error table, request ids, limits.

See docs/contract.md#errors.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest
from ecs_service.app import create_service
from openapi_spec_validator import validate
from query_core import (
    MAX_BODY_BYTES,
    RETIRED_MARKETING_DETAIL,
    ForbiddenError,
    PayloadTooLargeError,
)
from query_devstack import Reply


def body(response: Any) -> Any:
    return json.loads(response.data)


def test_page_comes_back_unchanged(service, upstream, page):
    response = service.request("POST", "/query/result", {"user_id": "u-1", "limit": 5})
    assert response.status == 200
    assert body(response) == page
    assert response.headers["content-type"] == "application/json"
    (sent,) = upstream.requests
    assert sent.target == "/prod/query/result"
    assert json.loads(sent.body) == {"user_id": "u-1", "limit": 5}


def test_a_page_is_sent_on_with_nothing_but_the_contracts_fields(service, upstream, page):
    leaky = {**page, "debug": "arn:aws:dynamodb:ap-northeast-1:1:table/t"}
    leaky["items"] = [{**page["items"][0], "marketing_id": "m-1"}]
    upstream.reply = Reply(body=json.dumps(leaky).encode())
    response = service.request("POST", "/query/result", {"user_id": "u-1"})
    assert (response.status, body(response)) == (200, page)


def test_request_id_is_taken_forwarded_and_echoed(service, upstream):
    response = service.request(
        "POST", "/query/result", {"user_id": "u-1"}, headers={"X-Request-Id": "caller-42"}
    )
    assert response.headers["x-request-id"] == "caller-42"
    assert upstream.requests[0].headers["x-request-id"] == "caller-42"


def test_request_id_is_generated_when_missing_or_unsafe(service, upstream):
    first = service.request("POST", "/query/result", {"user_id": "u-1"})
    second = service.request(
        "POST", "/query/result", {"user_id": "u-1"}, headers={"X-Request-Id": "bad id with spaces"}
    )
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert len(set(ids)) == 2
    assert "bad id with spaces" not in ids
    assert [r.headers["x-request-id"] for r in upstream.requests] == ids


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    "path",
    ["/query/marketing", "/query/marketing/", "/query/marketing/m-1/x", "/query/marketing/a%0Ab"],
)
def test_marketing_is_gone_everywhere(service, upstream, method, path):
    response = service.request(method, path, body=json.dumps({"marketing_id": "m-1"}))
    assert response.status == 410
    assert body(response) == {"detail": RETIRED_MARKETING_DETAIL}
    assert upstream.requests == []


def test_health_calls_nothing_downstream(service, upstream):
    response = service.request("GET", "/health")
    assert (response.status, body(response)) == (200, {"status": "ok"})
    assert upstream.requests == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nope", 404), ("GET", "/query/result", 405), ("DELETE", "/query/result", 405)],
)
def test_unknown_path_and_wrong_method(service, method, path, status):
    response = service.request(method, path)
    assert response.status == status
    assert isinstance(body(response)["detail"], str)
    if status == 405:
        assert response.headers["allow"] == "POST"


def test_bad_json_is_400(service, upstream):
    response = service.request(
        "POST", "/query/result", body="{nope", headers={"Content-Type": "application/json"}
    )
    assert (response.status, body(response)) == (400, {"detail": "request body is not valid JSON"})
    assert upstream.requests == []


def test_field_errors_are_422(service):
    response = service.request("POST", "/query/result", {"user_id": "", "extra": 1})
    assert response.status == 422
    assert {tuple(e["loc"]) for e in body(response)["detail"]} == {
        ("body", "user_id"),
        ("body", "extra"),
    }


def test_non_json_content_type_is_415(service):
    response = service.request(
        "POST", "/query/result", body='{"user_id": "u"}', headers={"Content-Type": "text/plain"}
    )
    assert response.status == 415


def test_a_repeated_content_type_is_read_as_api_gateway_passes_it_on_the_last(service):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    answers = {}
    for last in ("application/json", "text/plain"):
        first = "text/plain" if last == "application/json" else "application/json"
        connection.putrequest("POST", "/query/result")
        connection.putheader("Content-Type", first)
        connection.putheader("Content-Type", last)
        connection.putheader("Content-Length", "18")
        connection.endheaders(b'{"user_id": "u-1"}')
        response = connection.getresponse()
        response.read()
        answers[last] = response.status
    connection.close()
    assert answers == {"application/json": 200, "text/plain": 415}


@pytest.mark.parametrize("path", ["/query/result/", "/health/"])
def test_a_trailing_slash_is_an_unknown_path_not_a_redirect(service, path):
    response = service.request("POST", path, {"user_id": "u-1"}, redirect=False)
    assert response.status == 404
    assert "location" not in response.headers


def test_missing_content_type_is_read_as_json(service):
    response = service.request("POST", "/query/result", body=b'{"user_id": "u-1"}')
    assert response.status == 200


@pytest.mark.parametrize("chunked", [False, True])
def test_body_over_64_kib_is_413(service, upstream, chunked):
    big = json.dumps({"user_id": "u-1", "pad": "x" * 70_000}).encode()
    response = service.request(
        "POST",
        "/query/result",
        body=big,
        chunked=chunked,
        headers={"Content-Type": "application/json"},
    )
    assert (response.status, body(response)) == (413, {"detail": PayloadTooLargeError().detail})
    assert str(MAX_BODY_BYTES) in body(response)["detail"]  # says what the limit is
    assert upstream.requests == []


def test_upstream_4xx_detail_reaches_the_client(service, upstream):
    upstream.reply = Reply(status=400, body=b'{"detail": "next_token is malformed"}')
    response = service.request("POST", "/query/result", {"user_id": "u-1", "next_token": "x.y"})
    assert (response.status, body(response)) == (400, {"detail": "next_token is malformed"})


def test_upstream_4xx_detail_not_the_contracts_is_not_passed_on(service, upstream):
    upstream.reply = Reply(status=400, body=b'{"detail": "ValidationException: arn:aws:x"}')
    response = service.request("POST", "/query/result", {"user_id": "u-1", "next_token": "x.y"})
    assert (response.status, body(response)) == (400, {"detail": "the request is not valid"})


@pytest.mark.parametrize(
    ("reply", "status", "retry_after"),
    [
        (Reply(status=500, body=b'{"detail": "internal error"}'), 502, None),
        (Reply(status=502, body=b'{"message": "Internal server error"}'), 502, None),
        (Reply(status=200, body=b"<html>not json</html>"), 502, None),
        (Reply(status=200, body=b'{"wrong": "shape"}'), 502, None),
        (Reply(status=429, body=b'{"message": "Too Many Requests"}'), 503, "1"),
        (Reply(status=429, body=b"{}", headers={"Retry-After": "4"}), 503, "4"),
        (Reply(status=503, body=b'{"message": "Service Unavailable"}'), 503, "1"),
        (Reply(delay=3), 504, None),
    ],
)
def test_upstream_failures_map_to_the_contract(service, upstream, reply, status, retry_after):
    upstream.reply = reply
    started = time.monotonic()
    response = service.request("POST", "/query/result", {"user_id": "u-1"})
    assert response.status == status
    detail = body(response)["detail"]
    assert isinstance(detail, str)
    assert "Traceback" not in detail
    assert "Error" not in detail
    assert response.headers.get("retry-after") == retry_after
    assert time.monotonic() - started < 2.8  # the 1 s deadline; the 3 s delay would show


def test_unreachable_upstream_is_503(serve, settings):
    from ecs_service.settings import ServiceSettings

    dead = ServiceSettings(internal_api_url="http://127.0.0.1:9/prod", environment="local")
    with serve(create_service(dead)) as running:
        response = running.request("POST", "/query/result", {"user_id": "u-1"})
    assert response.status == 503
    assert response.headers["retry-after"] == "1"


def test_unexpected_failure_is_a_plain_500(serve, settings, json_logs, broken_client):
    with serve(create_service(settings, client=broken_client())) as running:
        response = running.request(
            "POST", "/query/result", {"user_id": "u-1"}, headers={"X-Request-Id": "boom-1"}
        )
    assert (response.status, body(response)) == (500, {"detail": "internal error"})
    assert response.headers["x-request-id"] == "boom-1"
    failure = _log_line(json_logs, "unexpected failure")
    assert failure["request_id"] == "boom-1"


def _log_line(json_logs, message: str) -> dict[str, Any]:
    # The access line is written just after the response is sent: wait for it briefly.
    for _ in range(100):
        found = json_logs.with_message(message)
        if found:
            return found[0]
        time.sleep(0.01)
    raise AssertionError(f"no log line {message!r}")


def test_access_log_line_carries_the_request_id(service, json_logs):
    service.request("POST", "/query/result", {"user_id": "u-1"}, headers={"X-Request-Id": "log-1"})
    access = _log_line(json_logs, "request handled")
    assert (access["request_id"], access["status"], access["path"]) == (
        "log-1",
        200,
        "/query/result",
    )


def test_a_client_leaving_mid_body_is_logged_as_such_not_as_a_failure(service, upstream, json_logs):
    with socket.create_connection(("127.0.0.1", service.port)) as client:
        client.sendall(
            b"POST /query/result HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\nX-Request-Id: gone-1\r\n\r\n" + b'{"user_id": "u-1"'
        )
    access = _log_line(json_logs, "request handled")
    assert (access["request_id"], access["status"]) == ("gone-1", 499)
    assert [line for line in json_logs.lines if line["level"] == "ERROR"] == []
    assert upstream.requests == []


def test_connections_to_upstream_are_pooled(service, upstream):
    for _ in range(5):
        assert service.request("POST", "/query/result", {"user_id": "u-1"}).status == 200
    assert upstream.connections == 1


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    assert ref.startswith("#/components/schemas/"), ref
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_openapi_document_is_valid_and_every_reference_resolves(service):
    spec = body(service.request("GET", "/openapi.json"))
    validate(spec)  # openapi-spec-validator: the OpenAPI 3.1 schema, and every $ref resolves
    assert "$defs" not in json.dumps(spec)


def test_openapi_documents_the_contract(service):
    spec = body(service.request("GET", "/openapi.json"))
    operation = spec["paths"]["/query/result"]["post"]
    schema = _resolve(spec, operation["requestBody"]["content"]["application/json"]["schema"])
    assert schema["required"] == ["user_id"]
    assert schema["additionalProperties"] is False
    assert _resolve(spec, schema["properties"]["user_id"])["maxLength"] == 128
    assert set(operation["responses"]) == {
        "200",
        "400",
        "401",
        "403",
        "413",
        "415",
        "422",
        "429",
        "502",
        "503",
        "504",
    }
    assert "Retry-After" in operation["responses"]["503"]["headers"]
    assert "Retry-After" in operation["responses"]["429"]["headers"]
    assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
    assert "/health" not in spec["paths"]


@pytest.mark.parametrize("path", ["/query/marketing", "/query/marketing/{rest}"])
def test_openapi_lists_every_retired_operation_as_deprecated_and_gone(service, path):
    operations = body(service.request("GET", "/openapi.json"))["paths"][path]
    assert set(operations) == {"get", "post", "put", "patch", "delete", "head", "options"}
    for operation in operations.values():
        assert operation["deprecated"] is True
        assert set(operation["responses"]) == {"410"}
        example = operation["responses"]["410"]["content"]["application/json"]["example"]
        assert example == {"detail": RETIRED_MARKETING_DETAIL}


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_docs_are_served_outside_production_only(serve, settings, path):
    with serve(create_service(settings)) as local:
        assert local.request("GET", path).status == 200
    production = settings.model_copy(
        update={"environment": "production", "internal_api_url": "https://api.example/prod"}
    )
    with serve(create_service(production)) as running:
        response = running.request("GET", path)
    assert (response.status, body(response)) == (404, {"detail": "Not Found"})


@pytest.fixture
def owner_checked(serve, settings):
    with serve(create_service(settings.model_copy(update={"owner_check": True}))) as running:
        yield running


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"X-Caller-Id": "u-1"}, 200),
        ({"X-Caller-Id": "u-2"}, 403),
        ({"X-Caller-Id": ""}, 403),
        ({}, 403),
    ],
    ids=["owner", "someone-else", "empty-identity", "no-identity"],
)
def test_owner_check(owner_checked, upstream, headers, status):
    response = owner_checked.request("POST", "/query/result", {"user_id": "u-1"}, headers=headers)
    assert response.status == status
    if status == 403:
        assert body(response) == {"detail": ForbiddenError().detail}
        assert upstream.requests == []  # refused before any call


def test_without_the_owner_check_the_caller_header_is_not_needed(service):
    response = service.request(
        "POST", "/query/result", {"user_id": "u-1"}, headers={"X-Caller-Id": "someone-else"}
    )
    assert response.status == 200
