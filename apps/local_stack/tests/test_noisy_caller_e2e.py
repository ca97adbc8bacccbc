"""One noisy caller and 20 quiet ones through the local chain: the quiet ones keep getting 200.

DynamoDB gives each partition (here: each user's results) a throughput of its own; a caller
hammering one user with an ``ap_id`` that matches nothing throttles that partition. A proxy
in front of the session's emulator plays that limit as DynamoDB does: past
``PARTITION_QUERIES_PER_SECOND`` Query calls a second on one ``user_id`` it answers
``ProvisionedThroughputExceededException``. The Query Result Lambda (the internal front)
reads through it, the service and the external front are the chain's own processes
(``local_stack._topology``) with their default settings. The quiet callers are measured
alone, then beside the noisy one; the figures are printed (docs/contract.md#fair-share).

Before the fix the throttle was a 503 that the service retried and that its breaker
counted: the noisy caller opened the circuit and every quiet caller got 503 for 10 s.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import random
import statistics
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
import urllib3
from local_stack._processes import Supervisor
from local_stack._topology import LOCAL_ENVIRONMENT, Ports, chain
from query_devstack import DEFAULT_TABLE_NAME, dynamodb_client, free_port, put_items, ulid

pytestmark = pytest.mark.e2e

PARTITION_QUERIES_PER_SECOND = 10
QUIET_CALLERS = 20
QUIET_PAUSE_SECONDS = 0.5  # each quiet caller: about 2 requests a second
NOISY_CONNECTIONS = 4  # back to back, as fast as the chain answers
PHASE_SECONDS = 10.0
THROTTLED = json.dumps(
    {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded.",
    }
).encode()


class PartitionLimitedDynamoDB(ThreadingHTTPServer):
    """Forwards every call to the emulator, except a Query of a partition over its limit."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream = upstream
        self.pool = urllib3.PoolManager(maxsize=32, retries=False)
        self.recent: dict[str, deque[float]] = defaultdict(deque)
        self.lock = threading.Lock()
        self.throttled = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def admit(self, partition: str) -> bool:
        """A sliding second: at most PARTITION_QUERIES_PER_SECOND reads of one partition."""
        now = time.monotonic()
        with self.lock:
            recent = self.recent[partition]
            while recent and recent[0] <= now - 1.0:
                recent.popleft()
            if len(recent) >= PARTITION_QUERIES_PER_SECOND:
                self.throttled += 1
                return False
            recent.append(now)
            return True


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: PartitionLimitedDynamoDB

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("X-Amz-Target", "").endswith(".Query"):
            partition = json.loads(body)["ExpressionAttributeValues"][":user_id"]["S"]
            if not self.server.admit(partition):
                self._send(400, THROTTLED, "application/x-amz-json-1.0")
                return
        headers = {k: v for k, v in self.headers.items() if k.lower() != "content-length"}
        answer = self.server.pool.request(
            "POST", self.server.upstream + self.path, body=body, headers=headers
        )
        self._send(answer.status, answer.data, answer.headers.get("Content-Type", ""))

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:  # one line per call: noise
        return


@dataclass
class Calls:
    statuses: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    retry_after: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def success_rate(self) -> float:
        return self.statuses.count(200) / len(self.statuses)

    def p99_ms(self) -> float:
        return statistics.quantiles(self.seconds, n=100)[98] * 1000


def _items(user_id: str, count: int, ap_id: str) -> Iterator[dict[str, Any]]:
    rng, start = random.Random(user_id), datetime(2026, 5, 1, tzinfo=UTC)
    for n in range(count):
        created = start + timedelta(minutes=n)
        yield {
            "user_id": {"S": user_id},
            "result_id": {"S": ulid(created, rng)},
            "ap_id": {"S": ap_id},
            "status": {"S": "done"},
            "created_at": {"S": created.isoformat().replace("+00:00", "Z")},
            "data": {"M": {"n": {"N": str(n)}}},
        }


def call(port: int, body: dict[str, Any], calls: Calls, stop: threading.Event, pause: float):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set():
        started = time.monotonic()
        connection.request(
            "POST", "/query/result", json.dumps(body), {"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        response.read()
        with calls.lock:
            calls.statuses.append(response.status)
            calls.seconds.append(time.monotonic() - started)
            if response.status == 429:
                calls.retry_after.add(response.getheader("Retry-After", ""))
        stop.wait(pause)
    connection.close()


def run(port: int, callers: list[tuple[dict[str, Any], Calls, float]]) -> None:
    stop = threading.Event()
    threads = [
        threading.Thread(target=call, args=(port, body, calls, stop, pause), daemon=True)
        for body, calls, pause in callers
    ]
    for thread in threads:
        thread.start()
    time.sleep(PHASE_SECONDS)
    stop.set()
    for thread in threads:
        thread.join(40)


@pytest.fixture(scope="module")
def throttling_chain(stack) -> Iterator[tuple[int, PartitionLimitedDynamoDB]]:
    """The external front's port, of a chain whose Query Result Lambda reads through the proxy."""
    client = dynamodb_client(stack.dynamodb_url)
    put_items(client, _items("u-noisy", 400, "ap-common"), DEFAULT_TABLE_NAME)
    for n in range(QUIET_CALLERS):
        put_items(client, _items(f"u-quiet-{n}", 15, "ap-common"), DEFAULT_TABLE_NAME)
    proxy = PartitionLimitedDynamoDB(stack.dynamodb_url)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    ports = Ports(
        external=free_port(),
        service=free_port(),
        internal=free_port(),
        dynamodb=urlsplit(stack.dynamodb_url).port or 0,
    )
    parts = {part.name: part for part in chain(ports)}
    internal = dataclasses.replace(
        parts["query-result-lambda"],
        env={**parts["query-result-lambda"].env, "AWS_ENDPOINT_URL": proxy.url},
    )
    supervisor = Supervisor(LOCAL_ENVIRONMENT, lambda _name, _line: None)
    try:
        for part in (internal, parts["ecs-service"], parts["query-lambda"]):
            supervisor.wait_ready(supervisor.start(part), time.monotonic() + 60)
        yield ports.external, proxy
        assert proxy.throttled > 0, "the noisy caller never reached the partition's limit"
    finally:
        supervisor.stop_all()
        proxy.shutdown()
        proxy.server_close()


def test_quiet_callers_keep_getting_200_beside_a_noisy_one(throttling_chain):
    port, dynamodb = throttling_chain
    alone = Calls()
    run(
        port,
        [
            ({"user_id": f"u-quiet-{n}", "limit": 10}, alone, QUIET_PAUSE_SECONDS)
            for n in range(QUIET_CALLERS)
        ],
    )
    throttled_before = dynamodb.throttled
    beside, noisy = Calls(), Calls()
    noisy_body = {"user_id": "u-noisy", "ap_id": "ap-none", "limit": 100}
    run(
        port,
        [
            ({"user_id": f"u-quiet-{n}", "limit": 10}, beside, QUIET_PAUSE_SECONDS)
            for n in range(QUIET_CALLERS)
        ]
        + [(noisy_body, noisy, 0.0)] * NOISY_CONNECTIONS,
    )
    noisy_counts = {status: noisy.statuses.count(status) for status in sorted(set(noisy.statuses))}
    print(
        f"\nquiet callers alone: {len(alone.statuses)} requests, "
        f"{alone.success_rate():.2%} 200, p99 {alone.p99_ms():.0f} ms"
        f"\nquiet callers beside the noisy one: {len(beside.statuses)} requests, "
        f"{beside.success_rate():.2%} 200, p99 {beside.p99_ms():.0f} ms"
        f"\nnoisy caller: {len(noisy.statuses)} requests, statuses {noisy_counts}; "
        f"{dynamodb.throttled - throttled_before} of its Query calls throttled"
    )
    assert alone.success_rate() == 1.0
    assert beside.success_rate() == 1.0, {s: beside.statuses.count(s) for s in beside.statuses}
    assert 429 in noisy.statuses  # the hot partition reached the client as a 429 ...
    assert noisy.retry_after == {"1"}  # ... with its Retry-After
    assert set(noisy.statuses) <= {200, 429}  # never a 503: the breaker stayed closed
