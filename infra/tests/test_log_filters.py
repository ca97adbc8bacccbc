"""Every metric filter in the template, against the log lines the code really writes.

The Query Lambda of the deployment package (``dist/lambda/package``, what ``nox -s build``
ships) runs in its own interpreter in front of a stand-in service on 127.0.0.1 that answers
200, 400 and 503 (and a closed port: 502; a path off the contract: the Lambda's own 404).
Its stderr is what CloudWatch Logs receives. Each filter pattern of the synthesized template
must match exactly the lines it counts, and at least one: a filter on a line nobody logs any
more (the old ``"request forwarded"``) fails here.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from query_devstack import log_filter_matches as matches

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "dist" / "lambda" / "package"
EVENTS = ROOT / "apps" / "lambdas" / "tests" / "events"
VERSION = "7"

_handled: Callable[[dict[str, Any]], bool] = lambda line: line.get("message") == "request handled"  # noqa: E731
#: What each metric of the canary counts, said independently of its pattern.
COUNTS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "QueryLambda5xx": lambda line: _handled(line) and line["status"] >= 500,
    "QueryLambda4xx": lambda line: _handled(line) and 400 <= line["status"] < 500,
    "QueryLambda4xxAllVersions": lambda line: _handled(line) and 400 <= line["status"] < 500,
}

RUN = """
import json, sys
from lambdas.query.handler import handler

class Context:
    aws_request_id = "lambda-request-id"
    function_version = sys.argv[1]
    def get_remaining_time_in_millis(self):
        return 20_000

for event in json.loads(sys.stdin.read()):
    print(handler(event, Context())["statusCode"], flush=True)
"""


class _Service(BaseHTTPRequestHandler):
    """Answers POST /query/result with the status its user_id asks for."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status = int(body["user_id"].removeprefix("status-"))
        payload = {"items": [], "next_token": None} if status == 200 else {"detail": "no"}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 503:
            self.send_header("Retry-After", "1")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _event(user: str, path: str = "/query/result") -> dict[str, Any]:
    event = json.loads((EVENTS / "rest_v1_external_query.json").read_text())
    event["path"] = path
    event["body"] = json.dumps({"user_id": user})
    event["isBase64Encoded"] = False
    return event


def _run(url: str, events: list[dict[str, Any]]) -> tuple[list[int], list[str]]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(PACKAGE),
        "EKS_HANDLER_URL": url,
        "ENVIRONMENT": "local",
        "FORWARD_TIMEOUT_SECONDS": "5",
    }
    result = subprocess.run(
        [sys.executable, "-c", RUN, VERSION],
        input=json.dumps(events),
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return [int(s) for s in result.stdout.split()], result.stderr.splitlines()


@pytest.fixture(scope="module")
def lambda_lines(service: str) -> list[str]:
    """What the Query Lambda logs for 200, 400, 404, 503 and 502 answers."""
    if not (PACKAGE / "lambdas").is_dir():
        pytest.fail(f"{PACKAGE} is missing: run through `./nox -s infra` (it builds it)")
    statuses, lines = _run(
        service,
        [
            _event("status-200"),
            _event("status-400"),
            _event("status-200", path="/not/a/contract/path"),
            _event("status-503"),
        ],
    )
    down_statuses, down_lines = _run(f"http://127.0.0.1:{_closed_port()}", [_event("status-200")])
    assert statuses + down_statuses == [200, 400, 404, 503, 502]
    return lines + down_lines


def _filters(template: dict[str, Any]) -> list[dict[str, Any]]:
    found = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Logs::MetricFilter"
    ]
    assert found
    return found


def test_the_lambda_logs_one_json_access_line_per_request_with_its_version(lambda_lines):
    parsed = [json.loads(line) for line in lambda_lines]
    access = [line for line in parsed if _handled(line)]
    assert [line["status"] for line in access] == [200, 400, 404, 503, 502]
    assert {line["function_version"] for line in access} == {VERSION}


@pytest.mark.parametrize("variant", ["fresh", "existing", "existing_api"])
def test_every_metric_filter_counts_exactly_the_lines_it_is_for(variant, request, lambda_lines):
    synth = request.getfixturevalue(variant)
    query_logs = {
        "Ref": synth.stack.get_logical_id(synth.stack.edge.function.log_group.node.default_child)
    }
    parsed = [json.loads(line) for line in lambda_lines]
    for metric_filter in _filters(synth.template):
        (transformation,) = metric_filter["MetricTransformations"]
        name = transformation["MetricName"]
        assert metric_filter["LogGroupName"] == query_logs, f"{name}: no log lines known"
        assert name in COUNTS, f"{name}: say what it counts in COUNTS"
        pattern = metric_filter["FilterPattern"]
        matched = [matches(pattern, line) for line in lambda_lines]
        expected = [COUNTS[name](line) for line in parsed]
        assert any(expected), name
        assert matched == expected, (name, pattern)
        for dimension in transformation.get("Dimensions", []):
            field = dimension["Value"].removeprefix("$.")
            hits = [line for line, hit in zip(parsed, matched, strict=True) if hit]
            assert all(line.get(field) == VERSION for line in hits), (name, field)
