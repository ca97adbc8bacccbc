"""The retired marketing-campaign query is unrouted: nothing imports it and no event reaches it."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import lambdas
from query_core import RETIRED_MARKETING_DETAIL
from query_devstack import demo_items, dynamodb_client

SRC = Path(lambdas.__file__).parent


def test_no_module_imports_the_retired_code():
    for path in SRC.rglob("*.py"):
        if "_retired" in path.parts:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [alias.name for alias in node.names]
            assert not any("_retired" in name.split(".") for name in names), path


def test_no_live_code_reads_marketing_id():
    for path in SRC.rglob("*.py"):
        if "_retired" not in path.parts:
            assert "marketing_id" not in path.read_text(), path


def test_the_reference_code_still_shows_what_was_turned_off(
    handler_module, dynamodb_endpoint, seeded_table, invoke, load_event, monkeypatch
):
    """Run against the emulator, the retired handler still answers a campaign's results
    from ``marketing_id-index``; the live handler answers the same request 410."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    from lambdas._retired import marketing_query

    monkeypatch.setattr(marketing_query, "dynamodb", dynamodb_client(dynamodb_endpoint))
    monkeypatch.setattr(marketing_query, "TABLE_NAME", seeded_table)
    event = load_event("rest_v1_marketing_get.json")
    event["httpMethod"], event["body"] = "POST", json.dumps({"marketing_id": "mkt-1", "limit": 100})

    old = marketing_query.lambda_handler(event, None)
    old_items = json.loads(old["body"])["items"]
    expected = {
        item["result_id"]["S"]
        for item in demo_items()
        if item.get("marketing_id", {}).get("S") == "mkt-1"
    }
    assert old["statusCode"] == 200
    assert {item["result_id"] for item in old_items} == expected != set()

    status, body, _ = invoke(handler_module, event)
    assert (status, body) == (410, {"detail": RETIRED_MARKETING_DETAIL})


def test_marketing_events_never_load_the_retired_module(tmp_path):
    events = [
        {"httpMethod": "GET", "path": "/query/marketing", "requestContext": {}, "body": None},
        {
            "httpMethod": "POST",
            "path": "/query/marketing/run",
            "requestContext": {},
            "body": json.dumps({"marketing_id": "mkt-1"}),
        },
        {"marketing_id": "mkt-1"},
    ]
    code = f"""
import json, sys
from lambdas.query_result.handler import handler
class Ctx:
    aws_request_id = "r"
    def get_remaining_time_in_millis(self): return 1000
statuses = [handler(e, Ctx())["statusCode"] for e in json.loads({json.dumps(json.dumps(events))})]
print(json.dumps([statuses, [m for m in sys.modules if "_retired" in m]]))
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "", "ENVIRONMENT": "local", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
    )
    statuses, retired_modules = json.loads(result.stdout.splitlines()[-1])
    assert statuses == [410, 410, 422]
    assert retired_modules == []
