"""Fixtures: DynamoDB over HTTP, seeded with demo data; the handler's settings.

The handler's tests run twice: on moto's server and on AWS's DynamoDB Local
(docs/decisions/0001-dynamodb-emulators.md); each emulator starts once per test session.
Secrets Manager is moto's only (DynamoDB Local serves DynamoDB alone).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from query_core.testing import JsonLogs, capture_json_logs
from query_devstack import (
    DynamoDBEmulator,
    DynamoDBLocal,
    MisbehavingServer,
    Reply,
    create_results_table,
    demo_items,
    dynamodb_client,
    dynamodb_local_home,
    put_items,
)

QUERY_SERVICE_PAGE = b'{"user_id":"u-1001","items":[],"count":0,"next_token":null}'
EVENTS = Path(__file__).parent / "events"
ROOT = Path(__file__).resolve().parents[3]


def _load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def load_event() -> Any:
    """Read a realistic event from tests/events/ (a fresh copy each call)."""
    return _load_event


@dataclass
class FakeContext:
    """What the Lambda runtime passes: the request id and the time left."""

    aws_request_id: str = "lambda-request-id"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server: DynamoDB and every other service (Secrets Manager here)."""
    with DynamoDBEmulator() as emulator:
        yield emulator.endpoint_url


@pytest.fixture(scope="session", params=["moto", "dynamodb-local"])
def dynamodb_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    """The DynamoDB emulator a test runs on; override with indirect parametrization."""
    if request.param == "moto":
        yield request.getfixturevalue("moto_endpoint")
        return
    # `nox -s tests` installs the jar from apps/local_stack/package-lock.json and says where.
    node_modules = os.environ.get("QUERY_TEST_NODE_MODULES", ROOT / "apps/local_stack/node_modules")
    with DynamoDBLocal(dynamodb_local_home(Path(node_modules))) as local:
        yield local.endpoint_url


@pytest.fixture(scope="session")
def secrets(moto_endpoint: str) -> Any:
    """A Secrets Manager client of moto's server."""
    import boto3

    return boto3.client(
        "secretsmanager",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="session")
def seeded_table(dynamodb_endpoint: str) -> str:
    client = dynamodb_client(dynamodb_endpoint)
    name = f"results-{uuid.uuid4().hex[:8]}"
    create_results_table(client, name)
    put_items(client, demo_items(), name)
    return name


@pytest.fixture
def handler_module(monkeypatch: pytest.MonkeyPatch, dynamodb_endpoint: str, seeded_table: str):
    """The handler module, configured for the emulator, with a fresh client."""
    monkeypatch.setenv("ENVIRONMENT", "local")
    monkeypatch.setenv("AWS_ENDPOINT_URL", dynamodb_endpoint)
    monkeypatch.setenv("RESULTS_TABLE_NAME", seeded_table)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("NEXT_TOKEN_SECRET_ARN", raising=False)
    from lambdas.query_result import handler as module
    from lambdas.query_result._keys import get_token_keys
    from lambdas.query_result._settings import get_settings

    get_settings.cache_clear()
    get_token_keys.cache_clear()
    monkeypatch.setattr(module, "_repository", None)
    yield module
    get_settings.cache_clear()
    get_token_keys.cache_clear()


@pytest.fixture
def json_logs() -> Iterator[JsonLogs]:
    """The JSON lines the handler logs during the test."""
    with capture_json_logs() as logs:
        yield logs


def _invoke(
    module: Any, event: Any, request_id: str = "lambda-request-id"
) -> tuple[int, Any, dict[str, str]]:
    response = module.handler(event, FakeContext(request_id))
    assert set(response) == {"statusCode", "headers", "body", "isBase64Encoded"}
    return response["statusCode"], json.loads(response["body"]), response["headers"]


@pytest.fixture
def invoke() -> Any:
    """Call a handler like the runtime does; answers (status, parsed body, headers)."""
    return _invoke


@pytest.fixture
def service() -> Iterator[MisbehavingServer]:
    """A real HTTP server standing in for the ECS service, behind the Query Lambda."""
    reply = Reply(
        body=QUERY_SERVICE_PAGE,
        headers={
            "content-type": "application/json",
            "x-request-id": "client-req-7",
            "server": "uvicorn",
            "set-cookie": "internal=1",
        },
    )
    with MisbehavingServer(reply) as server:
        yield server


@pytest.fixture
def query_module(monkeypatch: pytest.MonkeyPatch, service: MisbehavingServer) -> Iterator[Any]:
    """The Query Lambda's handler module, forwarding to ``service``."""
    monkeypatch.setenv("ENVIRONMENT", "local")
    monkeypatch.setenv("EKS_HANDLER_URL", service.url)
    monkeypatch.setenv("FORWARD_TIMEOUT_SECONDS", "1")
    from lambdas.query import _forward
    from lambdas.query import handler as module
    from lambdas.query._proof import get_proof_keys
    from lambdas.query._settings import get_settings

    get_settings.cache_clear()
    get_proof_keys.cache_clear()
    monkeypatch.setattr(_forward, "_pool", None)
    yield module
    get_settings.cache_clear()
    get_proof_keys.cache_clear()
