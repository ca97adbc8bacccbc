"""The retired marketing-campaign query is unrouted: nothing imports it and no event reaches it."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import lambdas

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


def test_retired_code_is_still_there_for_reference():
    assert "marketing_id-index" in (SRC / "_retired" / "marketing_query.py").read_text()


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
