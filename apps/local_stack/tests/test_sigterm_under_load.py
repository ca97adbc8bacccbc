"""SIGTERM under load: the service and each front finish every request they accepted.

Each test starts one part of its own (from the topology, wired to the session's running
stack for what it calls), drives it with 32 keep-alive connections, sends it SIGTERM in the
middle, and checks what each connection saw:

- every answer that came back is the normal one (200, a page of results): 0 5xx;
- a request that got no answer (connection refused, or an idle keep-alive connection closed
  by the stop) was never accepted: its request id is in none of the part's log lines;
- the part exits within its grace period (uvicorn re-raises the SIGTERM: status -15).
"""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from local_stack._processes import Supervisor
from local_stack._topology import LOCAL_ENVIRONMENT, Part, Ports, chain
from query_devstack import free_port

pytestmark = pytest.mark.e2e
CONNECTIONS = 32


@dataclass
class Outcome:
    answered: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def drive(port: int, path: str, worker: int, stop: threading.Event, outcome: Outcome) -> None:
    """One keep-alive connection posting queries until the part stops answering."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    n = 0
    while not stop.is_set():
        n += 1
        request_id = f"sigterm-{worker}-{n}"
        body = json.dumps({"user_id": f"u-100{1 + n % 4}", "limit": 5})
        try:
            connection.request(
                "POST",
                path,
                body,
                {"Content-Type": "application/json", "X-Request-Id": request_id},
            )
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            with outcome.lock:
                outcome.failed[request_id] = type(exc).__name__
            connection.close()
            if isinstance(exc, ConnectionRefusedError):
                return  # the listening socket is closed: the stop has begun
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        with outcome.lock:
            outcome.answered[request_id] = (response.status, data)
        if response.getheader("connection", "").lower() == "close":
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.close()


def stop_under_load(part: Part, path: str) -> tuple[Outcome, str, float, int]:
    lines: list[str] = []
    supervisor = Supervisor(LOCAL_ENVIRONMENT, lambda name, line: lines.append(line))
    running = supervisor.start(part)
    try:
        supervisor.wait_ready(running, time.monotonic() + 60)
        stop, outcome = threading.Event(), Outcome()
        workers = [
            threading.Thread(target=drive, args=(part.port, path, n, stop, outcome), daemon=True)
            for n in range(CONNECTIONS)
        ]
        for worker in workers:
            worker.start()
        loaded_by = time.monotonic() + 60
        while len(outcome.answered) < 2 * CONNECTIONS and time.monotonic() < loaded_by:
            time.sleep(0.1)  # until every connection has had answers: under load
        answered_before = len(outcome.answered)
        signalled = time.monotonic()
        running.process.send_signal(signal.SIGTERM)
        running.process.wait(part.grace + 10)
        took = time.monotonic() - signalled
        stop.set()
        for worker in workers:
            worker.join(35)
        assert answered_before > CONNECTIONS, "the load did not get going"
    finally:
        supervisor.stop_all()
    return outcome, "\n".join(lines), took, running.process.returncode


def check(outcome: Outcome, log: str, took: float, returncode: int, grace: float) -> None:
    statuses = {status for status, _ in outcome.answered.values()}
    assert statuses == {200}, {rid: a for rid, a in outcome.answered.items() if a[0] != 200}
    for _, body in outcome.answered.values():
        assert "items" in json.loads(body)
    accepted_but_lost = [rid for rid in outcome.failed if f'"{rid}"' in log]
    assert accepted_but_lost == [], (accepted_but_lost, outcome.failed)
    assert took <= grace, f"exited {took:.1f} s after SIGTERM (grace {grace} s)"
    assert returncode in (0, -signal.SIGTERM)
    print(
        f"{len(outcome.answered)} answered (all 200), {len(outcome.failed)} never accepted "
        f"({sorted(set(outcome.failed.values()))}), exit {returncode} after {took:.2f} s"
    )


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def _part(name: str, ports: Ports) -> Part:
    return next(part for part in chain(ports) if part.name == name)


def test_the_service_stopped_under_load_finishes_what_it_accepted(stack):
    ports = Ports(service=free_port(), internal=_port(stack.internal_url))
    part = _part("ecs-service", ports)
    outcome, log, took, code = stop_under_load(part, "/query/result")
    check(outcome, log, took, code, part.grace)


def test_the_external_front_stopped_under_load_finishes_what_it_accepted(stack):
    ports = Ports(external=free_port(), service=_port(stack.service_url))
    part = _part("query-lambda", ports)
    outcome, log, took, code = stop_under_load(part, "/query/result")
    check(outcome, log, took, code, part.grace)


def test_the_internal_front_stopped_under_load_finishes_what_it_accepted(stack):
    ports = Ports(internal=free_port(), dynamodb=_port(stack.dynamodb_url))
    part = _part("query-result-lambda", ports)
    outcome, log, took, code = stop_under_load(part, "/prod/query/result")
    check(outcome, log, took, code, part.grace)
