"""Side doors past the public API (docs/contract.md#side-doors).

The Query Lambda takes only its own API's events: a REST event from another API, or one
made by hand (a direct Invoke whose authorizer context names anyone), is 403 before it
reaches the service. The Query Result Lambda takes ``direct`` events in production only
where the stack sets ``EVENT_SOURCES`` to include them (``enableLambdaRollbackSource``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from query_core import FOREIGN_EVENT_DETAIL
from query_core.events import rest_proxy_event
from query_devstack import MisbehavingServer, Reply

#: The ``apiId`` of the public API's events under tests/events (rest_v1_external_query.json).
API_ID = "q7r8s9t0u1"
PAGE = b'{"user_id":"u-1001","items":[],"count":0,"next_token":null}'


@pytest.fixture
def service():
    with MisbehavingServer(Reply(body=PAGE, headers={"content-type": "application/json"})) as s:
        yield s


@pytest.fixture
def query_lambda(monkeypatch, service):
    monkeypatch.setenv("ENVIRONMENT", "local")
    monkeypatch.setenv("EKS_HANDLER_URL", service.url)
    monkeypatch.setenv("PUBLIC_API_ID", API_ID)
    from lambdas.query import _forward
    from lambdas.query import handler as module

    module.get_settings.cache_clear()
    monkeypatch.setattr(_forward, "_pool", None)
    yield module
    module.get_settings.cache_clear()


def call(module: Any, event: Any) -> dict[str, Any]:
    class Context:
        aws_request_id = "lambda-ctx-id"

        def get_remaining_time_in_millis(self) -> int:
            return 29_000

    return module.handler(event, Context())


def refused(response: dict[str, Any]) -> bool:
    return (response["statusCode"], json.loads(response["body"])) == (
        403,
        {"detail": FOREIGN_EVENT_DETAIL},
    )


def test_the_query_lambda_forwards_its_own_apis_events(query_lambda, service, load_event):
    response = call(query_lambda, load_event("rest_v1_cognito_authorizer.json"))
    assert response["statusCode"] == 200
    assert len(service.requests) == 1


@pytest.mark.parametrize(
    "event_file",
    [
        "rest_v1_query_result.json",  # the private API's event: another apiId
        "http_v2_query_result.json",  # an HTTP API's (with EVENT_SOURCES=rest_v1,http_v2)
    ],
)
def test_another_apis_event_is_403_and_reaches_nothing(
    query_lambda, service, load_event, monkeypatch, event_file
):
    monkeypatch.setenv("EVENT_SOURCES", "rest_v1,http_v2")
    query_lambda.get_settings.cache_clear()
    response = call(query_lambda, load_event(event_file))
    assert refused(response)
    assert response["headers"]["x-request-id"]
    assert service.requests == []


def test_a_hand_made_event_naming_the_victim_is_403(query_lambda, service, load_event):
    """What ``lambda:InvokeFunction`` lets a same-account principal send: the authorizer's
    context names the victim; without the API's id it never reaches the service."""
    made = rest_proxy_event(
        "/query/result", caller="u-victim", request_id="forged-1", body={"user_id": "u-victim"}
    )  # apiId "local", as every tool builds it unless told the API
    assert refused(call(query_lambda, made))
    unnamed = load_event("rest_v1_cognito_authorizer.json")
    del unnamed["requestContext"]["apiId"]
    assert refused(call(query_lambda, unnamed))
    assert service.requests == []


def test_the_api_is_checked_before_the_path(query_lambda, service, load_event):
    event = load_event("rest_v1_query_result.json")
    event["path"] = "/health"
    assert refused(call(query_lambda, event))


def test_production_without_the_api_id_is_refused_with_one_line():
    from lambdas.query._settings import QueryLambdaSettings, SettingsError

    production = {
        "ENVIRONMENT": "production",
        "EKS_HANDLER_URL": "http://alb.internal",
        "CALLER_PROOF_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:p",
    }
    with pytest.raises(SettingsError, match=r"^PUBLIC_API_ID must be set when ENVIRONMENT=produ"):
        QueryLambdaSettings.from_environ(production)
    with pytest.raises(SettingsError, match=r"^PUBLIC_API_ID must be a REST API id, not 'a/b'$"):
        QueryLambdaSettings.from_environ({**production, "PUBLIC_API_ID": "a/b"})
    settings = QueryLambdaSettings.from_environ({**production, "PUBLIC_API_ID": API_ID})
    assert settings.public_api_id == API_ID
    assert QueryLambdaSettings.from_environ({}).public_api_id is None  # local may leave it


def test_the_query_result_lambda_refuses_direct_in_production_unless_set():
    from lambdas.query_result._settings import QueryResultSettings

    production = {
        "ENVIRONMENT": "production",
        "NEXT_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:k",
    }
    assert QueryResultSettings.from_environ(production).sources == {"rest_v1"}
    rollback = {**production, "EVENT_SOURCES": "rest_v1,direct"}
    assert QueryResultSettings.from_environ(rollback).sources == {"rest_v1", "direct"}
    assert QueryResultSettings.from_environ({}).sources == {"rest_v1", "direct"}  # local


def test_the_query_result_lambda_answers_direct_only_where_listed(
    handler_module, invoke, load_event, monkeypatch
):
    """The answer ``query-migrate smoke``'s direct check reads (smoke_direct.py)."""
    monkeypatch.setenv("EVENT_SOURCES", "rest_v1")
    handler_module.get_settings.cache_clear()
    status, body, _ = invoke(handler_module, load_event("direct_query_result.json"))
    assert (status, body) == (400, {"detail": "unsupported event"})
    monkeypatch.setenv("EVENT_SOURCES", "rest_v1,direct")
    handler_module.get_settings.cache_clear()
    assert invoke(handler_module, load_event("direct_query_result.json"))[0] == 200
