"""The retired marketing-campaign query: kept in retired/, outside the package; no code
reads ``marketing_id`` and no event reaches it. (That no artifact ships it is checked on the
artifacts themselves: infra/tests/test_retired_not_shipped.py.)"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import lambdas
from query_core import RETIRED_MARKETING_DETAIL
from query_devstack import demo_items, dynamodb_client

SRC = Path(lambdas.__file__).parent
RETIRED = Path(__file__).resolve().parents[3] / "retired" / "marketing_query.py"


def _load_retired_handler() -> ModuleType:
    """The reference file, loaded by path: it is not importable from any package."""
    spec = importlib.util.spec_from_file_location("retired_marketing_query", RETIRED)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_holds_no_retired_code():
    assert RETIRED.is_file()
    assert importlib.util.find_spec("lambdas._retired") is None
    names = {path.name for path in SRC.rglob("*")}
    assert RETIRED.name not in names
    assert not any("retired" in name for name in names), sorted(names)


def test_no_live_code_reads_marketing_id():
    sources = list(SRC.rglob("*.py"))
    assert len(sources) > 5
    for path in sources:
        assert "marketing_id" not in path.read_text(), path


def test_the_reference_code_still_shows_what_was_turned_off(
    handler_module, dynamodb_endpoint, seeded_table, invoke, load_event, monkeypatch
):
    """Run against the emulator, the retired handler still answers a campaign's results
    from ``marketing_id-index``; the live handler answers the same request 410."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    marketing_query = _load_retired_handler()

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
print(json.dumps([statuses, [m for m in sys.modules if "marketing" in m or "retired" in m]]))
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
