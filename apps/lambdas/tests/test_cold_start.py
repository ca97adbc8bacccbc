"""The handlers load no web framework: a fresh interpreter imports each and lists its modules."""

import json
import subprocess
import sys

import pytest

FORBIDDEN = {"fastapi", "starlette", "uvicorn", "mangum", "aiohttp", "httpx", "httpx2"}


@pytest.mark.parametrize("module", ["lambdas.query_result.handler", "lambdas.query.handler"])
def test_handler_imports_no_web_framework(module):
    code = (
        f"import sys, json, {module}; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "", "ENVIRONMENT": "local"},
    )
    loaded = set(json.loads(result.stdout))
    assert loaded.isdisjoint(FORBIDDEN), loaded & FORBIDDEN
    assert "query_core" in loaded
    assert "boto3" not in loaded  # the client is created on the first invocation


def test_query_lambda_imports_neither_pydantic_nor_boto3():
    code = "import sys, json, lambdas.query.handler; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "", "ENVIRONMENT": "local"},
    )
    loaded = {name.split(".")[0] for name in json.loads(result.stdout)}
    assert "urllib3" in loaded
    assert loaded.isdisjoint({"pydantic", "pydantic_core", "boto3", "botocore"})
