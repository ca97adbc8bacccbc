"""RESULT_SOURCE=lambda: boto3 Invoke against a local Lambda Invoke API over real HTTP."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from ecs_service.app import create_service
from ecs_service.settings import ServiceSettings
from query_devstack import LambdaInvokeFront, MisbehavingServer, Reply

pytestmark = pytest.mark.usefixtures("fake_aws_credentials")


def legacy_settings(endpoint: str, **overrides: Any) -> ServiceSettings:
    return ServiceSettings(
        environment="local",
        result_source="lambda",
        query_result_lambda_name="query_result_lambda",
        aws_endpoint_url=endpoint,
        upstream_deadline_seconds=2.0,
        upstream_attempt_timeout_seconds=2.0,
        upstream_max_attempts=1,
        **overrides,
    )


def envelope_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Stands in for the Query Result Lambda: echoes what it got, in its envelope."""
    page = {
        "user_id": event["user_id"],
        "items": [],
        "count": 0,
        "next_token": context.client_context.custom["request_id"],
    }
    return {"statusCode": 200, "headers": {}, "body": json.dumps(page)}


def test_invoke_returns_the_page_and_carries_the_request_id(serve):
    front = LambdaInvokeFront({"query_result_lambda": envelope_handler})
    with serve(front) as lambda_api, serve(create_service(legacy_settings(lambda_api.url))) as svc:
        response = svc.request(
            "POST", "/query/result", {"user_id": "u-9"}, headers={"X-Request-Id": "legacy-req"}
        )
    assert response.status == 200
    assert json.loads(response.data)["next_token"] == "legacy-req"


def test_function_error_is_502(serve):
    def broken(event: Any, context: Any) -> Any:
        raise KeyError("user_id")

    front = LambdaInvokeFront({"query_result_lambda": broken})
    with serve(front) as lambda_api, serve(create_service(legacy_settings(lambda_api.url))) as svc:
        response = svc.request("POST", "/query/result", {"user_id": "u-9"})
    assert (response.status, json.loads(response.data)) == (
        502,
        {"detail": "the results service answered something unusable"},
    )


def test_lambda_4xx_in_the_envelope_passes_through(serve):
    def rejecting(event: Any, context: Any) -> Any:
        return {"statusCode": 400, "body": json.dumps({"detail": "next_token is malformed"})}

    front = LambdaInvokeFront({"query_result_lambda": rejecting})
    with serve(front) as lambda_api, serve(create_service(legacy_settings(lambda_api.url))) as svc:
        response = svc.request("POST", "/query/result", {"user_id": "u", "next_token": "x"})
    assert (response.status, json.loads(response.data)) == (
        400,
        {"detail": "next_token is malformed"},
    )


def test_unknown_function_is_a_misconfiguration(serve):
    front = LambdaInvokeFront({"another_function": envelope_handler})
    with serve(front) as lambda_api, serve(create_service(legacy_settings(lambda_api.url))) as svc:
        response = svc.request("POST", "/query/result", {"user_id": "u"})
    assert (response.status, json.loads(response.data)) == (
        502,
        {"detail": "the results service refused the call"},
    )


def test_throttled_invoke_is_503(serve):
    reply = Reply(
        status=429,
        body=b'{"Type": "User", "message": "Rate Exceeded."}',
        headers={
            "content-type": "application/json",
            "x-amzn-errortype": "TooManyRequestsException",
        },
    )
    with MisbehavingServer(reply) as lambda_api:
        with serve(create_service(legacy_settings(lambda_api.url))) as svc:
            response = svc.request("POST", "/query/result", {"user_id": "u"})
    assert response.status == 503
    assert response.headers["retry-after"] == "1"


def test_the_rollback_path_has_the_same_retries_and_breaker(serve):
    reply = Reply(
        status=429,
        body=b'{"Type": "User", "message": "Rate Exceeded."}',
        headers={
            "content-type": "application/json",
            "x-amzn-errortype": "TooManyRequestsException",
        },
    )
    settings = legacy_settings("http://127.0.0.1:9").model_copy(
        update={
            "upstream_max_attempts": 3,
            "upstream_attempt_timeout_seconds": 0.5,
            "breaker_failure_threshold": 2,
        }
    )
    with MisbehavingServer(reply) as lambda_api:
        settings = settings.model_copy(update={"aws_endpoint_url": lambda_api.url})
        with serve(create_service(settings)) as svc:
            statuses = [svc.request("POST", "/query/result", {"user_id": "u"}) for _ in range(3)]
        calls = len(lambda_api.requests)
    assert [r.status for r in statuses] == [503, 503, 503]
    assert json.loads(statuses[2].data) == {"detail": "the results service is failing; retry later"}
    assert calls == 6  # 3 attempts each for the first two; the open circuit made none


def test_unreachable_lambda_is_503(serve):
    with serve(create_service(legacy_settings("http://127.0.0.1:9"))) as svc:
        response = svc.request("POST", "/query/result", {"user_id": "u"})
    assert response.status == 503


def test_slow_lambda_is_504_within_the_deadline(serve):
    with MisbehavingServer(Reply(delay=5)) as lambda_api:
        with serve(create_service(legacy_settings(lambda_api.url))) as svc:
            started = time.monotonic()
            response = svc.request("POST", "/query/result", {"user_id": "u"})
            elapsed = time.monotonic() - started
    assert response.status == 504
    assert elapsed < 4.5  # the 2 s deadline, not the 5 s the function takes
