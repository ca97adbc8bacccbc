"""End to end over HTTP through the whole local chain, from the external front down to DynamoDB."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import urllib3
from query_core.dynamodb import from_item
from query_devstack import dynamodb_client

pytestmark = pytest.mark.e2e
http = urllib3.PoolManager(retries=False)
JSON = {"Content-Type": "application/json"}


def post(base: str, body: Any, headers: dict[str, str] | None = None, path: str = "/query/result"):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return http.request("POST", base + path, body=data, headers={**JSON, **(headers or {})})


def stored(stack: Any, user_id: str, ap_id: str | None = None) -> list[dict[str, Any]]:
    client = dynamodb_client(stack.dynamodb_url)
    items = []
    for page in client.get_paginator("query").paginate(
        TableName="query-results",
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": user_id}},
        ScanIndexForward=False,
    ):
        items.extend(from_item(item) for item in page["Items"])
    for item in items:
        item.pop("marketing_id", None)
        item.setdefault("ap_id", None)
    return [item for item in items if ap_id is None or item["ap_id"] == ap_id]


def walk(base: str, **request: Any) -> list[dict[str, Any]]:
    items, token = [], None
    for _ in range(100):
        response = post(base, {**request, **({"next_token": token} if token else {})})
        assert response.status == 200, response.data
        page = json.loads(response.data)
        assert page["count"] == len(page["items"])
        items.extend(page["items"])
        token = page["next_token"]
        if token is None:
            return items
    raise AssertionError("paging did not end")


def test_paging_through_the_chain_matches_the_table(stack):
    got = walk(stack.external_url, user_id="u-1001", limit=7)
    assert got == stored(stack, "u-1001")
    assert len(got) == 45


def test_ap_id_filter_through_the_chain(stack):
    got = walk(stack.external_url, user_id="u-1002", ap_id="ap-search", limit=4)
    assert got == stored(stack, "u-1002", "ap-search")
    assert got
    assert {item["ap_id"] for item in got} == {"ap-search"}


def test_marketing_is_gone_through_the_front(stack):
    for method in ("GET", "POST"):
        response = http.request(method, stack.external_url + "/query/marketing?marketing_id=m")
        assert response.status == 410
        assert "retired" in json.loads(response.data)["detail"]


@pytest.mark.parametrize(
    ("body", "status"),
    [('{"user_id": ', 400), ({"user_id": "u 1"}, 422), ({"user_id": "u-1", "limit": 0}, 422)],
)
def test_bad_requests_through_the_front(stack, body, status):
    response = post(stack.external_url, body)
    assert response.status == status
    assert "detail" in json.loads(response.data)


def test_unknown_path_is_404(stack):
    response = http.request("GET", stack.external_url + "/nothing/here")
    assert (response.status, json.loads(response.data)) == (404, {"detail": "Not Found"})


def test_request_id_reaches_the_query_result_lambda_log(stack):
    response = post(stack.external_url, {"user_id": "u-1003"}, {"X-Request-Id": "e2e-trace-1"})
    assert response.headers["x-request-id"] == "e2e-trace-1"
    for _ in range(50):
        lines = [
            json.loads(line)
            for line in stack.log("query-result-lambda").splitlines()
            if line.startswith("{")
        ]
        hits = [
            line
            for line in lines
            if line.get("request_id") == "e2e-trace-1" and line["message"] == "request handled"
        ]
        if hits:
            assert hits[0]["status"] == 200
            return
        time.sleep(0.05)
    raise AssertionError("the request id is not in the Query Result Lambda's log")


CONTRACT_CASES = [
    ("POST", "/query/result", {"user_id": "u-1001", "limit": 3}, JSON),
    ("POST", "/query/result", {"user_id": "u-1004", "ap_id": "ap-billing"}, JSON),
    ("POST", "/query/result", {"user_id": "nobody"}, JSON),
    ("POST", "/query/result", {"user_id": "u-1001", "next_token": "forged.token"}, JSON),
    ("POST", "/query/result", '{"user_id": ', JSON),
    ("POST", "/query/result", {"user_id": "x" * 129, "marketing_id": "m"}, JSON),
    ("POST", "/query/result", {"user_id": "u-1001"}, {"Content-Type": "text/plain"}),
    ("POST", "/query/result", {"user_id": "u-1001", "pad": "x" * 70_000}, JSON),
    ("GET", "/query/result", None, {}),
    ("GET", "/query/marketing", None, {}),
    ("DELETE", "/query/marketing/m-1", None, {}),
    ("GET", "/unknown", None, {}),
]


@pytest.mark.parametrize(("method", "path", "body", "headers"), CONTRACT_CASES)
def test_service_and_external_api_answer_alike(stack, method, path, body, headers):
    data = None if body is None else body if isinstance(body, str) else json.dumps(body)
    direct = http.request(method, stack.service_url + path, body=data, headers=headers)
    fronted = http.request(method, stack.external_url + path, body=data, headers=headers)
    assert (fronted.status, fronted.data) == (direct.status, direct.data)
    assert fronted.headers.get("content-type") == direct.headers.get("content-type")


def test_health_is_the_services_not_the_public_apis(stack):
    assert http.request("GET", stack.service_url + "/health").status == 200
    assert http.request("GET", stack.external_url + "/health").status == 404


def test_startup_banner_shows_the_urls_and_a_curl(stack):
    text = "".join(stack.output)
    assert stack.external_url in text
    assert "curl -s -X POST" in text


PARITY_CASES = [
    {"user_id": "u-1001", "limit": 5},
    {"user_id": "u-1002", "ap_id": "ap-reports", "limit": 3},
    {"user_id": "u-1004"},
    {"user_id": "nobody"},
    {"user_id": "u-1001", "next_token": "forged.token"},
]


@pytest.mark.parametrize("body", PARITY_CASES)
def test_legacy_lambda_source_answers_like_the_internal_api(stack, body):
    via_api = post(stack.service_url, body)
    via_invoke = post(stack.legacy_service_url, body)
    assert (via_invoke.status, via_invoke.data) == (via_api.status, via_api.data)


def test_legacy_source_pages_like_the_internal_api(stack):
    assert walk(stack.legacy_service_url, user_id="u-1003", limit=9) == stored(stack, "u-1003")


def test_request_id_reaches_the_lambda_on_the_legacy_path(stack):
    response = post(stack.legacy_service_url, {"user_id": "u-1001"}, {"X-Request-Id": "legacy-7"})
    assert response.headers["x-request-id"] == "legacy-7"
    for _ in range(50):
        if '"request_id": "legacy-7"' in stack.log("lambda-invoke-api"):
            return
        time.sleep(0.05)
    raise AssertionError("the request id is not in the invoked Lambda's log")


def test_log_files_are_json_lines_without_colour_codes(stack):
    for log in stack.log_dir.glob("*.log"):
        if log.name == "dynamodb.log":
            continue  # the emulator's own output, not ours
        for line in log.read_text().splitlines():
            record = json.loads(line)
            assert "\x1b" not in json.dumps(record, ensure_ascii=False), (log.name, line)
