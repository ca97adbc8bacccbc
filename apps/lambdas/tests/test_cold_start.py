"""The handlers load no web framework: a fresh interpreter imports each and lists its modules."""

import json
import subprocess
import sys

import pytest

FORBIDDEN = {"fastapi", "starlette", "uvicorn", "mangum", "aiohttp", "httpx", "httpx2"}


def modules_loaded_by(module: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after importing ``module`` (local)."""
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "", "ENVIRONMENT": "local"},
    )
    return {name.split(".")[0] for name in json.loads(result.stdout)}


@pytest.mark.parametrize(
    "module",
    ["lambdas.query_result.handler", "lambdas.query.handler", "lambdas.image_build.handler"],
)
def test_handler_imports_no_web_framework(module):
    loaded = modules_loaded_by(module)
    assert loaded.isdisjoint(FORBIDDEN), loaded & FORBIDDEN
    assert "query_core" in loaded
    assert "boto3" not in loaded  # the client is created on the first invocation


def test_query_lambda_imports_neither_pydantic_nor_boto3():
    loaded = modules_loaded_by("lambdas.query.handler")
    assert "urllib3" in loaded
    assert loaded.isdisjoint({"pydantic", "pydantic_core", "boto3", "botocore"})
