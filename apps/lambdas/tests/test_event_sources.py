"""EVENT_SOURCES: each Lambda answers only the event shapes its deployment uses.

An HTTP API (v2) event where only the REST API is deployed, or a direct invocation of the
Query Lambda, is 400 ``unsupported event`` and reaches nothing behind the function.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from query_devstack import MisbehavingServer, Reply


@pytest.fixture
def service():
    page = b'{"user_id":"u-1001","items":[],"count":0,"next_token":null}'
    reply = Reply(body=page, headers={"content-type": "application/json"})
    with MisbehavingServer(reply) as server:
        yield server


@pytest.fixture
def query_lambda(monkeypatch, service):
    monkeypatch.setenv("ENVIRONMENT", "local")
    monkeypatch.setenv("EKS_HANDLER_URL", service.url)
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


@pytest.mark.parametrize(
    ("sources", "accepted", "refused"),
    [
        ("", "rest_v1_external_query.json", "http_v2_query_result.json"),
        ("rest_v1,http_v2", "http_v2_query_result.json", "direct_query_result.json"),
    ],
)
def test_the_query_lambda_answers_only_its_event_shapes(
    query_lambda, service, load_event, monkeypatch, sources, accepted, refused
):
    """An HTTP API event where only the REST API is deployed is refused, not forwarded."""
    monkeypatch.setenv("EVENT_SOURCES", sources)
    query_lambda.get_settings.cache_clear()
    response = call(query_lambda, load_event(refused))
    assert (response["statusCode"], json.loads(response["body"])) == (
        400,
        {"detail": "unsupported event"},
    )
    assert call(query_lambda, load_event(accepted))["statusCode"] == 200
    assert len(service.requests) == 1


@pytest.mark.parametrize(
    ("sources", "refused"),
    [
        ("", "http_v2_query_result.json"),  # the default: the private REST API and direct
        ("rest_v1", "direct_query_result.json"),  # no rollback source
        ("rest_v1,http_v2", "direct_query_result.json"),
    ],
)
def test_the_query_result_lambda_answers_only_its_event_shapes(
    handler_module, invoke, load_event, monkeypatch, sources, refused
):
    monkeypatch.setenv("EVENT_SOURCES", sources)
    handler_module.get_settings.cache_clear()
    status, body, _ = invoke(handler_module, load_event(refused))
    assert (status, body) == (400, {"detail": "unsupported event"})
    assert invoke(handler_module, load_event("rest_v1_query_result.json"))[0] == 200
