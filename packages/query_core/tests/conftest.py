"""Fixtures: DynamoDB over HTTP on 127.0.0.1, a fresh table per test.

Every test that talks to DynamoDB runs twice: on moto's server and on AWS's DynamoDB Local
(docs/decisions/0001-dynamodb-emulators.md). Each emulator starts once per test session.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from query_devstack import (
    DynamoDBEmulator,
    DynamoDBLocal,
    create_results_table,
    dynamodb_client,
    dynamodb_local_home,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session", params=["moto", "dynamodb-local"])
def dynamodb_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "moto":
        with DynamoDBEmulator() as moto:
            yield moto.endpoint_url
        return
    # `nox -s tests` installs the jar from apps/local_stack/package-lock.json and says where.
    node_modules = os.environ.get("QUERY_TEST_NODE_MODULES", ROOT / "apps/local_stack/node_modules")
    with DynamoDBLocal(dynamodb_local_home(Path(node_modules))) as local:
        yield local.endpoint_url


@pytest.fixture(scope="session")
def dynamodb(dynamodb_endpoint: str) -> Any:
    return dynamodb_client(dynamodb_endpoint)


@pytest.fixture
def table_name(dynamodb: Any) -> str:
    name = f"results-{uuid.uuid4().hex[:12]}"
    create_results_table(dynamodb, name)
    return name
