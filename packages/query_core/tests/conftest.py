"""Fixtures: moto's DynamoDB server over HTTP on 127.0.0.1, a fresh table per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from query_devstack import DynamoDBEmulator, create_results_table, dynamodb_client


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    with DynamoDBEmulator() as emulator:
        yield emulator.endpoint_url


@pytest.fixture(scope="session")
def dynamodb(dynamodb_endpoint: str) -> Any:
    return dynamodb_client(dynamodb_endpoint)


@pytest.fixture
def table_name(dynamodb: Any) -> str:
    name = f"results-{uuid.uuid4().hex[:12]}"
    create_results_table(dynamodb, name)
    return name
