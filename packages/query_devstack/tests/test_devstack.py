import random
import socket
from datetime import UTC, datetime, timedelta

import pytest
from query_devstack import (
    DEMO_AP_IDS,
    DEMO_USERS,
    DynamoDBEmulator,
    EmulatorProcess,
    create_results_table,
    demo_items,
    dynamodb_client,
    put_items,
    ulid,
)


def test_ulids_sort_by_time_and_use_crockford_base32():
    rng = random.Random(1)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [ulid(start + timedelta(milliseconds=n), rng) for n in range(50)]
    assert ids == sorted(ids)
    assert all(len(i) == 26 and set(i) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for i in ids)


def test_demo_items_are_deterministic_and_varied():
    items = demo_items()
    assert items == demo_items()
    assert {i["user_id"]["S"] for i in items} == set(DEMO_USERS)
    ap_ids = {i["ap_id"]["S"] for i in items if "ap_id" in i}
    assert ap_ids == set(DEMO_AP_IDS)
    legacy = [i for i in items if "ap_id" not in i]
    assert legacy
    assert all("marketing_id" in i for i in legacy)
    assert len({(i["user_id"]["S"], i["result_id"]["S"]) for i in items}) == len(items)


@pytest.fixture(scope="module")
def emulator():
    with DynamoDBEmulator() as running:
        yield running


def test_table_matches_the_contract_and_creation_is_idempotent(emulator):
    client = dynamodb_client(emulator.endpoint_url)
    assert create_results_table(client, "t1") is True
    assert create_results_table(client, "t1") is False
    table = client.describe_table(TableName="t1")["Table"]
    assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {
        ("user_id", "HASH"),
        ("result_id", "RANGE"),
    }
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "marketing_id-index"


def test_put_items_writes_every_item_in_batches(emulator):
    client = dynamodb_client(emulator.endpoint_url)
    create_results_table(client, "t2")
    items = demo_items(per_user=20)
    assert put_items(client, items, "t2") == len(items) == 80
    count = client.scan(TableName="t2", Select="COUNT")["Count"]
    assert count == 80


def test_emulator_process_starts_serves_and_stops():
    with EmulatorProcess() as process:
        client = dynamodb_client(process.endpoint_url)
        assert client.list_tables()["TableNames"] == []
        port = process.port
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
