"""The Query Result Lambda: same answer on every way it is called.

See docs/contract.md#internal-api.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
from query_core import RETIRED_MARKETING_DETAIL
from query_devstack import demo_items


def expected_first_page(user_id: str, limit: int) -> list[str]:
    ids = sorted(
        (item["result_id"]["S"] for item in demo_items() if item["user_id"]["S"] == user_id),
        reverse=True,
    )
    return ids[:limit]


def test_rest_v1_event_returns_a_page(handler_module, invoke, load_event):
    status, body, headers = invoke(handler_module, load_event("rest_v1_query_result.json"))
    assert status == 200
    assert body["user_id"] == "u-1001"
    assert body["count"] == 5 == len(body["items"])
    assert [i["result_id"] for i in body["items"]] == expected_first_page("u-1001", 5)
    assert body["next_token"]
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"] == "req-rest-0001"
    assert all("marketing_id" not in item for item in body["items"])


def test_the_three_shapes_answer_the_same(handler_module, invoke, load_event, monkeypatch):
    monkeypatch.setenv("EVENT_SOURCES", "rest_v1,http_v2,direct")
    handler_module.get_settings.cache_clear()
    answers = [
        invoke(handler_module, load_event(name))[:2]
        for name in (
            "rest_v1_query_result.json",
            "rest_v1_base64_body.json",
            "http_v2_query_result.json",
            "direct_query_result.json",
        )
    ]
    assert all(answer == answers[0] for answer in answers)


def test_pages_follow_with_next_token_on_every_shape(handler_module, invoke, load_event):
    first = invoke(handler_module, load_event("direct_query_result.json"))[1]
    event = load_event("rest_v1_query_result.json")
    event["body"] = json.dumps({"user_id": "u-1001", "limit": 5, "next_token": first["next_token"]})
    second = invoke(handler_module, event)[1]
    direct = invoke(
        handler_module, {"user_id": "u-1001", "limit": 5, "next_token": first["next_token"]}
    )[1]
    assert second == direct
    assert {i["result_id"] for i in first["items"]}.isdisjoint(
        i["result_id"] for i in second["items"]
    )


def test_ap_id_filter(handler_module, invoke, load_event):
    status, body, _ = invoke(handler_module, {"user_id": "u-1002", "ap_id": "ap-search"})
    assert status == 200
    assert body["count"] > 0
    assert {item["ap_id"] for item in body["items"]} == {"ap-search"}


def test_user_without_results_gets_an_empty_page(handler_module, invoke, load_event):
    status, body, _ = invoke(handler_module, {"user_id": "nobody"})
    assert (status, body) == (
        200,
        {"user_id": "nobody", "items": [], "count": 0, "next_token": None},
    )


@pytest.mark.parametrize(
    ("body", "is_base64", "detail"),
    [
        ("{not json", False, "request body is not valid JSON"),
        ("", False, "request body is empty; expected a JSON object"),
        (None, False, "request body is empty; expected a JSON object"),
        (base64.b64encode(b"\xff\xfe").decode(), True, "request body is not valid JSON"),
        ("@@@", True, "request body is flagged base64 but is not valid base64"),
    ],
)
def test_bodies_that_are_not_json_are_400(
    handler_module, body, is_base64, detail, invoke, load_event
):
    event = load_event("rest_v1_query_result.json")
    event["body"] = body
    event["isBase64Encoded"] = is_base64
    status, answer, headers = invoke(handler_module, event)
    assert (status, answer) == (400, {"detail": detail})
    assert headers["x-request-id"] == "req-rest-0001"


def test_field_errors_are_422_in_fastapi_shape(handler_module, invoke, load_event):
    status, body, _ = invoke(handler_module, {"user_id": "bad id", "limit": 500})
    assert status == 422
    assert [(e["loc"], e["type"]) for e in body["detail"]] == [
        (["body", "user_id"], "string_pattern_mismatch"),
        (["body", "limit"], "less_than_equal"),
    ]


def test_marketing_id_is_an_unknown_field(handler_module, invoke, load_event):
    status, body, _ = invoke(handler_module, {"marketing_id": "mkt-1"})
    assert status == 422
    assert ["body", "marketing_id"] in [e["loc"] for e in body["detail"]]


def test_tampered_or_foreign_token_is_400(handler_module, invoke, load_event):
    first = invoke(handler_module, {"user_id": "u-1001", "limit": 2})[1]
    for request in (
        {"user_id": "u-1002", "limit": 2, "next_token": first["next_token"]},
        {"user_id": "u-1001", "ap_id": "ap-search", "limit": 2, "next_token": first["next_token"]},
        {"user_id": "u-1001", "limit": 2, "next_token": first["next_token"][:-2] + "xx"},
    ):
        status, body, _ = invoke(handler_module, request)
        assert status == 400
        assert "next_token" in body["detail"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/query/marketing", 410),
        ("POST", "/query/marketing", 410),
        ("DELETE", "/query/marketing/mkt-1/results", 410),
        ("GET", "/query/result", 405),
        ("POST", "/query/other", 404),
        ("GET", "/health", 404),
    ],
)
def test_routes(handler_module, method, path, status, invoke, load_event):
    event = load_event("rest_v1_marketing_get.json")
    event["httpMethod"] = method
    event["path"] = path
    got, body, headers = invoke(handler_module, event)
    assert got == status
    if status == 410:
        assert body == {"detail": RETIRED_MARKETING_DETAIL}
    if status == 405:
        assert headers["allow"] == "POST"


def test_non_json_content_type_is_415(handler_module, invoke, load_event):
    event = load_event("rest_v1_query_result.json")
    event["headers"]["Content-Type"] = "text/plain"
    event["multiValueHeaders"]["Content-Type"] = ["text/plain"]
    assert invoke(handler_module, event)[0] == 415


def test_body_over_64_kib_is_413(handler_module, invoke, load_event):
    event = load_event("rest_v1_query_result.json")
    event["body"] = json.dumps({"user_id": "u-1001", "pad": "x" * 70_000})
    assert invoke(handler_module, event)[0] == 413


def test_unsupported_event_is_400(handler_module, invoke, load_event):
    status, body, _ = invoke(handler_module, ["not", "an", "object"])
    assert status == 400
    assert body == {"detail": "unsupported event"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("headers", ["Content-Type"]),
        ("multiValueHeaders", {"X-Request-Id": 7}),
        ("queryStringParameters", "x=1"),
        ("multiValueQueryStringParameters", {"x": "1"}),
    ],
)
def test_a_forged_gateway_event_is_400_not_500(handler_module, invoke, load_event, field, value):
    event = load_event("rest_v1_query_result.json")
    event[field] = value
    if field == "queryStringParameters":
        event["multiValueQueryStringParameters"] = None
    status, body, _ = invoke(handler_module, event)
    assert (status, body) == (400, {"detail": "unsupported event"})


def test_request_id_precedence(handler_module, invoke, load_event):
    event = load_event("rest_v1_query_result.json")
    assert invoke(handler_module, event)[2]["x-request-id"] == "req-rest-0001"
    for headers in ("headers", "multiValueHeaders"):
        event[headers].pop("X-Request-Id")
    assert invoke(handler_module, event)[2]["x-request-id"] == event["requestContext"]["requestId"]
    direct = invoke(handler_module, {"user_id": "u"}, request_id="ctx-id")
    assert direct[2]["x-request-id"] == "ctx-id"
    event["headers"]["X-Request-Id"] = "bad\nid"
    assert invoke(handler_module, event)[2]["x-request-id"] == event["requestContext"]["requestId"]


def test_request_is_logged_as_json_with_its_request_id(
    handler_module, json_logs, invoke, load_event
):
    invoke(handler_module, load_event("rest_v1_query_result.json"))
    (line,) = json_logs.with_message("request handled")
    assert line["request_id"] == "req-rest-0001"
    assert line["status"] == 200
    assert line["source"] == "rest_v1"
    assert line["duration_ms"] >= 0


def test_unexpected_failure_is_500_without_details(
    handler_module, monkeypatch, json_logs, invoke, load_event
):
    class Broken:
        def query(self, _request: Any) -> Any:
            raise RuntimeError("secret arn:aws:dynamodb:ap-northeast-1:123:table/x exploded")

    monkeypatch.setattr(handler_module, "_repository", Broken())
    status, body, headers = invoke(handler_module, load_event("rest_v1_query_result.json"))
    assert (status, body) == (500, {"detail": "internal error"})
    assert headers["x-request-id"] == "req-rest-0001"
    (failure,) = json_logs.with_message("unexpected failure")
    assert failure["request_id"] == "req-rest-0001"
    assert failure["level"] == "ERROR"


def test_missing_table_is_500(handler_module, monkeypatch, invoke, load_event):
    monkeypatch.setenv("RESULTS_TABLE_NAME", "no-such-table")
    handler_module.get_settings.cache_clear()
    status, body, _ = invoke(handler_module, {"user_id": "u-1001"})
    assert (status, body) == (500, {"detail": "internal error"})


def test_a_throttled_partition_is_429_with_retry_after(
    handler_module, monkeypatch, invoke, load_event
):
    """One hot partition is this user's pace, not the store down: 429, not a 503."""
    from query_core import RepositoryThrottledError

    class Throttled:
        def query(self, _request: Any) -> Any:
            raise RepositoryThrottledError

    monkeypatch.setattr(handler_module, "_repository", Throttled())
    status, body, headers = invoke(handler_module, {"user_id": "u"})
    assert status == 429
    assert headers["retry-after"] == "1"
    assert body == {"detail": "the results store is busy reading this user's results; retry later"}


def test_client_is_created_once_per_container(handler_module, invoke, load_event):
    invoke(handler_module, {"user_id": "u-1001"})
    first = handler_module.get_repository()
    invoke(handler_module, {"user_id": "u-1002"})
    assert handler_module.get_repository() is first


def test_event_files_are_not_modified(handler_module, invoke, load_event):
    before = load_event("rest_v1_query_result.json")
    event = copy.deepcopy(before)
    invoke(handler_module, event)
    assert event == before


def test_unreachable_dynamodb_is_503_with_retry_after(
    handler_module, monkeypatch, invoke, load_event
):
    """The store being down is an availability failure the service retries and counts."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("DYNAMODB_CONNECT_TIMEOUT_SECONDS", "0.2")
    monkeypatch.setenv("DYNAMODB_MAX_ATTEMPTS", "1")
    handler_module.get_settings.cache_clear()
    monkeypatch.setattr(handler_module, "_repository", None)
    status, body, headers = invoke(handler_module, load_event("rest_v1_query_result.json"))
    assert (status, body) == (503, {"detail": "the results store is unavailable; retry later"})
    assert headers["retry-after"] == "1"
