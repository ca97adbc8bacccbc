"""The Query Lambda against a real HTTP server standing in for the ECS service."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import urllib3
from hypothesis import given, settings
from hypothesis import strategies as st
from query_core import RESULT_PATH, RETIRED_MARKETING_DETAIL, is_public_path, is_retired_path
from query_devstack import Reply

SERVICE_PAGE = b'{"user_id":"u-1001","items":[],"count":0,"next_token":null}'


def call(module: Any, event: Any, remaining_ms: int = 29_000) -> dict[str, Any]:
    class Context:
        aws_request_id = "lambda-ctx-id"

        def get_remaining_time_in_millis(self) -> int:
            return remaining_ms

    return module.handler(event, Context())


def test_forwards_method_path_query_body_and_allowed_headers(query_module, service, load_event):
    response = call(query_module, load_event("rest_v1_external_query.json"))
    assert response["statusCode"] == 200
    assert response["body"] == SERVICE_PAGE.decode()
    (sent,) = service.requests
    assert sent.method == "POST"
    assert sent.target == "/query/result?trace=1&tag=a&tag=b"
    assert json.loads(sent.body) == {"user_id": "u-1001", "ap_id": "ap-search", "limit": 3}
    assert sent.headers["x-request-id"] == "client-req-7"
    assert sent.headers["content-type"] == "application/json"
    assert "authorization" not in sent.headers
    assert "cookie" not in sent.headers


def test_returns_status_body_and_allowed_headers_only(query_module, service, load_event):
    retired = json.dumps({"detail": RETIRED_MARKETING_DETAIL}).encode()
    service.reply = Reply(
        status=410,
        body=retired,
        headers={
            "content-type": "application/json",
            "x-request-id": "other",
            "retry-after": "2",
            "server": "uvicorn",
        },
    )
    response = call(query_module, load_event("rest_v1_external_query.json"))
    assert (response["statusCode"], response["body"]) == (410, retired.decode())
    assert response["headers"] == {
        "content-type": "application/json",
        "x-request-id": "client-req-7",
        "retry-after": "2",
    }


@pytest.mark.parametrize(
    ("status", "body", "detail"),
    [
        (
            400,
            b'{"detail": "ValidationException at arn:aws:dynamodb:eu-west-1:1:table/t"}',
            "the request is not valid",
        ),
        (
            403,
            b'{"message": "User is not authorized to access this resource"}',
            "the authenticated caller may not read this user_id's results",
        ),
        (404, b"<html><body>nginx 404</body></html>", "Not Found"),
        (
            503,
            b"<html>503 Service Temporarily Unavailable</html>",
            "the results service is unavailable; retry later",
        ),
        (502, b"", "the results service answered something unusable"),
    ],
)
def test_upstream_error_details_pass_only_when_the_contracts_own(
    query_module, service, load_event, status, body, detail
):
    service.reply = Reply(status=status, body=body, headers={"content-type": "text/html"})
    response = call(query_module, load_event("rest_v1_external_query.json"))
    assert response["statusCode"] == status
    assert json.loads(response["body"]) == {"detail": detail}


def test_upstream_validation_list_passes_unchanged(query_module, service, load_event):
    body = (
        b'{"detail":[{"type":"missing","loc":["body","user_id"],"msg":"Field required",'
        b'"input":{}}]}'
    )
    service.reply = Reply(status=422, body=body, headers={"content-type": "application/json"})
    response = call(query_module, load_event("rest_v1_external_query.json"))
    assert (response["statusCode"], response["body"]) == (422, body.decode())


def test_request_id_falls_back_to_the_gateway_id(query_module, service, load_event):
    event = load_event("rest_v1_external_query.json")
    for headers in ("headers", "multiValueHeaders"):
        event[headers].pop("X-Request-Id")
    call(query_module, event)
    assert service.requests[0].headers["x-request-id"] == "4f0a1b2c-external-gw-request"


@pytest.mark.parametrize(
    "path", ["/health", "/docs", "/redoc", "/openapi.json", "/", "/query/result/", "/query/x"]
)
def test_only_the_contracts_paths_are_forwarded(query_module, service, load_event, path):
    event = load_event("rest_v1_external_query.json")
    event["httpMethod"], event["path"], event["body"] = "GET", path, None
    response = call(query_module, event)
    assert (response["statusCode"], json.loads(response["body"])) == (404, {"detail": "Not Found"})
    assert response["headers"]["x-request-id"] == "client-req-7"
    assert service.requests == []


@pytest.mark.parametrize("path", ["/query/marketing", "/query/marketing/m-1/run"])
def test_retired_paths_are_forwarded_to_the_service(query_module, service, load_event, path):
    event = load_event("rest_v1_external_query.json")
    event["httpMethod"], event["path"] = "DELETE", path
    call(query_module, event)
    assert [(r.method, r.target.split("?")[0]) for r in service.requests] == [("DELETE", path)]


def test_unreachable_service_is_502(query_module, monkeypatch, load_event):
    monkeypatch.setenv("EKS_HANDLER_URL", "http://127.0.0.1:9")
    query_module.get_settings.cache_clear()
    response = call(query_module, load_event("rest_v1_external_query.json"))
    assert response["statusCode"] == 502
    assert json.loads(response["body"]) == {"detail": "the query service is unreachable"}
    assert response["headers"]["x-request-id"] == "client-req-7"


def test_slow_service_is_504_within_the_deadline(query_module, service, load_event):
    service.reply = Reply(delay=4)  # FORWARD_TIMEOUT_SECONDS is 1
    started = time.monotonic()
    response = call(query_module, load_event("rest_v1_external_query.json"))
    assert (response["statusCode"], json.loads(response["body"])) == (
        504,
        {"detail": "the query service did not answer in time"},
    )
    assert time.monotonic() - started < 4  # gave up before the service answered


def test_deadline_respects_the_lambda_time_left(query_module, monkeypatch, service, load_event):
    monkeypatch.setenv("FORWARD_TIMEOUT_SECONDS", "25")
    query_module.get_settings.cache_clear()
    service.reply = Reply(delay=6)
    started = time.monotonic()
    response = call(query_module, load_event("rest_v1_external_query.json"), remaining_ms=800)
    assert response["statusCode"] == 504
    assert time.monotonic() - started < 6  # the Lambda's 0.8 s left, not the 25 s setting


def test_reset_mid_body_is_502(query_module, service, load_event):
    service.reply = Reply(body=b"x" * 5000, reset_after=10)
    assert call(query_module, load_event("rest_v1_external_query.json"))["statusCode"] == 502


def test_connections_are_reused_across_warm_invocations(query_module, service, load_event):
    for _ in range(4):
        assert call(query_module, load_event("rest_v1_external_query.json"))["statusCode"] == 200
    assert service.connections == 1


def test_bad_base64_body_is_400(query_module, service, load_event):
    event = load_event("rest_v1_external_query.json")
    event["body"], event["isBase64Encoded"] = "%%%", True
    assert call(query_module, event)["statusCode"] == 400
    assert service.requests == []


def test_direct_invocation_is_refused(query_module, service):
    response = call(query_module, {"user_id": "u-1001"})
    assert (response["statusCode"], json.loads(response["body"])) == (
        400,
        {"detail": "unsupported event"},
    )
    assert response["headers"]["x-request-id"] == "lambda-ctx-id"
    assert service.requests == []


def test_production_needs_the_service_url():
    from lambdas.query._settings import QueryLambdaSettings, SettingsError

    with pytest.raises(SettingsError, match="EKS_HANDLER_URL must be set"):
        QueryLambdaSettings.from_environ({"ENVIRONMENT": "production"})
    with pytest.raises(SettingsError, match="FORWARD_TIMEOUT_SECONDS"):
        QueryLambdaSettings.from_environ({"FORWARD_TIMEOUT_SECONDS": "40"})
    settings = QueryLambdaSettings.from_environ(
        {
            "ENVIRONMENT": "production",
            "EKS_HANDLER_URL": "http://internal-alb.local/",
            "PUBLIC_API_ID": "q7r8s9t0u1",
            "CALLER_PROOF_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:p",
        }
    )
    assert settings.eks_handler_url == "http://internal-alb.local"


@pytest.mark.parametrize(
    ("event_file", "owner_claim", "caller"),
    [
        ("rest_v1_cognito_authorizer.json", None, "u-1001"),
        ("rest_v1_cognito_authorizer.json", "email", "alice@example.com"),
        ("rest_v1_cognito_authorizer.json", "cognito:username", "alice"),
        ("rest_v1_lambda_authorizer.json", None, "u-1002"),
        ("rest_v1_lambda_authorizer.json", "userId", "u-1002"),
        ("rest_v1_lambda_authorizer.json", "integrationLatency", "451"),
        ("rest_v1_iam_auth.json", None, "AROAXMPLEXAMPLE1ROLE"),
        ("rest_v1_iam_auth.json", "caller", "AROAXMPLEXAMPLE1ROLE"),
        ("rest_v1_iam_auth_user.json", None, "AIDAXMPLEXAMPLE2USER"),
    ],
)
def test_the_callers_identity_comes_from_the_authorizer_only(
    query_module, service, load_event, monkeypatch, event_file, owner_claim, caller
):
    if owner_claim:
        monkeypatch.setenv("OWNER_CLAIM", owner_claim)
        query_module.get_settings.cache_clear()
    event = load_event(event_file)
    assert event["headers"]["X-Caller-Id"] == "u-9999"  # the client's own copy
    assert call(query_module, event)["statusCode"] == 200
    (sent,) = service.requests
    assert sent.headers["x-caller-id"] == caller
    assert "authorization" not in sent.headers


@pytest.mark.parametrize("owner_claim", ["userArn", "user"])
def test_an_iam_callers_session_name_is_never_the_owner(
    query_module, service, load_event, monkeypatch, owner_claim
):
    """A role's session name is chosen by whoever assumes it: no claim makes it the caller."""
    monkeypatch.setenv("OWNER_CLAIM", owner_claim)
    query_module.get_settings.cache_clear()
    call(query_module, load_event("rest_v1_iam_auth.json"))
    assert "x-caller-id" not in service.requests[0].headers


@pytest.mark.parametrize("owner_claim", [None, "email"])
def test_without_an_authorizer_no_caller_is_sent(
    query_module, service, load_event, monkeypatch, owner_claim
):
    if owner_claim:
        monkeypatch.setenv("OWNER_CLAIM", owner_claim)
        query_module.get_settings.cache_clear()
    event = load_event("rest_v1_external_query.json")
    event["headers"]["X-Caller-Id"] = "u-1001"
    event["multiValueHeaders"]["X-Caller-Id"] = ["u-1001"]
    call(query_module, event)
    assert "x-caller-id" not in service.requests[0].headers


@pytest.mark.parametrize(
    "claim_value", ["", "has space", "line\nbreak", "ünïcode", "x" * 257, None, True, {"a": 1}]
)
def test_an_identity_unfit_for_a_header_is_not_sent(query_module, service, load_event, claim_value):
    event = load_event("rest_v1_cognito_authorizer.json")
    event["requestContext"]["authorizer"]["claims"]["sub"] = claim_value
    call(query_module, event)
    assert "x-caller-id" not in service.requests[0].headers


def test_a_missing_claim_sends_no_caller(query_module, service, load_event, monkeypatch):
    monkeypatch.setenv("OWNER_CLAIM", "custom:tenant")
    query_module.get_settings.cache_clear()
    call(query_module, load_event("rest_v1_cognito_authorizer.json"))
    assert "x-caller-id" not in service.requests[0].headers


def test_a_bad_owner_claim_setting_is_refused():
    from lambdas.query._settings import QueryLambdaSettings, SettingsError

    with pytest.raises(SettingsError, match="OWNER_CLAIM"):
        QueryLambdaSettings.from_environ({"OWNER_CLAIM": "sub, email"})
    with pytest.raises(SettingsError, match="EVENT_SOURCES must list some of rest_v1, http_v2"):
        QueryLambdaSettings.from_environ({"EVENT_SOURCES": "rest_v1,direct"})


@pytest.mark.parametrize(
    "path",
    [
        "/query/marketing/../../health",
        "/query/marketing/../../docs",
        "/query/marketing/./../../openapi.json",
        "/query/marketing/x/../../../redoc",
        "/query/result/../../health",
        "/health?/../query/result",  # urllib3 sends /health, with a query
        "/health#/../query/result",  # ... and drops the fragment
        "/docs?x=/query/result",
    ],
)
def test_dot_segments_cannot_reach_private_paths(query_module, service, load_event, path):
    # urllib3 resolves dot segments before sending: /query/marketing/../../health is /health.
    event = load_event("rest_v1_external_query.json")
    event["httpMethod"], event["path"], event["body"] = "GET", path, None
    response = call(query_module, event)
    assert (response["statusCode"], json.loads(response["body"])) == (404, {"detail": "Not Found"})
    assert service.requests == []


@pytest.mark.parametrize(
    ("path", "received"),
    [
        ("/query/marketing/x/..", "/query/marketing/"),
        ("/query/marketing/.", "/query/marketing/"),
        ("/query/x/../result", "/query/result"),
    ],
)
def test_a_path_is_judged_as_it_is_sent(query_module, service, load_event, path, received):
    event = load_event("rest_v1_external_query.json")
    event["path"] = path
    call(query_module, event)
    assert [r.target.split("?")[0] for r in service.requests] == [received]


@pytest.mark.parametrize(
    ("sent", "received"),
    [
        ("curl/8.5 (€ edition)", "curl/8.5 (€ edition)".encode().decode("latin-1")),
        ("Mozilla/5.0 \u2028", "Mozilla/5.0 \u2028".encode().decode("latin-1")),
        ("café", "café"),  # Latin-1 carries it as it came
        ("plain/1.0", "plain/1.0"),
    ],
)
def test_a_header_value_beyond_latin_1_is_forwarded_not_a_500(
    query_module, service, load_event, sent, received
):
    event = load_event("rest_v1_external_query.json")
    event["headers"]["User-Agent"] = sent
    event["multiValueHeaders"]["User-Agent"] = [sent]
    response = call(query_module, event)
    assert response["statusCode"] == 200
    assert service.requests[0].headers["user-agent"] == received


@pytest.mark.parametrize("value", ["evil\nX-Caller-Id: u-1", "a\rb", "nul\x00", "del\x7f"])
def test_a_header_value_with_a_control_character_is_not_forwarded(
    query_module, service, load_event, value
):
    event = load_event("rest_v1_external_query.json")
    event["headers"]["Accept-Language"] = value
    event["multiValueHeaders"]["Accept-Language"] = [value]
    assert call(query_module, event)["statusCode"] == 200
    (sent,) = service.requests
    assert "accept-language" not in sent.headers
    assert "x-caller-id" not in sent.headers


_SEGMENTS = (
    *("", ".", "..", "query", "marketing", "result", "health", "docs", "x", "..x", "%2e%2e"),
    *("health?", "?", "#", "x#y", "result?a=b"),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_SEGMENTS), max_size=8))
def test_the_edge_judges_the_path_urllib3_sends(segments):
    # Whatever path API Gateway hands over, the decision is taken on the path that leaves.
    path = "/" + "/".join(segments)
    sent = urllib3.util.parse_url("http://service" + path).path or "/"
    assert is_public_path(path) == (sent == RESULT_PATH or is_retired_path(sent))
