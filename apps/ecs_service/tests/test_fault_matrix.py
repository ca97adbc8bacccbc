"""The fault matrix: the real service in front of a real misbehaving upstream on 127.0.0.1.

Each row fixes what the upstream does, and asserts what the client sees (status,
``{"detail": ...}``, ``Retry-After``), how many upstream attempts were made, that the
answer came within the deadline, and the log line. ``docs/fault-matrix.md`` holds the
same table; ``test_docs_table_matches`` keeps them equal (``UPDATE_FAULT_MATRIX=1``
rewrites the page from this file).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from ecs_service.app import create_service
from ecs_service.settings import ServiceSettings
from query_devstack import MisbehavingServer, Reply

DEADLINE = 2.0
PAGE = json.dumps({"user_id": "u-1", "items": [], "count": 0, "next_token": None}).encode()
HOT_PARTITION = "the results store is busy reading this user's results; retry later"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "fault-matrix.md"


def gateway(status: int, message: str, error_type: str, **headers: str) -> Reply:
    """An answer in API Gateway's own shape."""
    return Reply(
        status=status,
        body=json.dumps({"message": message}).encode(),
        headers={"content-type": "application/json", "x-amzn-ErrorType": error_type, **headers},
    )


@dataclass(frozen=True)
class Row:
    fault: str
    upstream: str
    reply: Reply | None  # None: nothing listens (connection refused)
    status: int
    detail: str
    attempts: int
    log: str  # the level and the start of the service's log line
    retry_after: str | None = None


MATRIX = [
    Row(
        "slow past the deadline",
        "no answer for 5 s",
        Reply(delay=5),
        504,
        "the results service did not answer in time",
        3,
        "WARNING upstream failure",
    ),
    Row(
        "Lambda failed",
        '500 `{"detail": "internal error"}`',
        Reply(status=500, body=b'{"detail": "internal error"}'),
        502,
        "the results service answered something unusable",
        1,
        "WARNING upstream failure",
    ),
    Row(
        "API Gateway 502",
        "502 `Internal server error` (malformed proxy response)",
        gateway(502, "Internal server error", "InternalServerErrorException"),
        502,
        "the results service answered something unusable",
        3,
        "WARNING upstream failure",
    ),
    Row(
        "API Gateway 503",
        "503 `Service Unavailable`",
        gateway(503, "Service Unavailable", "ServiceUnavailableException"),
        503,
        "the results service is unavailable; retry later",
        3,
        "WARNING upstream failure",
        "1",
    ),
    Row(
        "integration timeout",
        "504 `Endpoint request timed out` (`INTEGRATION_TIMEOUT`)",
        gateway(504, "Endpoint request timed out", "INTEGRATION_TIMEOUT"),
        504,
        "the results service did not answer in time",
        3,
        "WARNING upstream failure",
    ),
    Row(
        "throttled",
        "429 `Too Many Requests` (`TooManyRequestsException`)",
        gateway(429, "Too Many Requests", "TooManyRequestsException"),
        503,
        "the results service is busy; retry later",
        3,
        "WARNING upstream failure",
        "1",
    ),
    Row(
        "throttled with a hint",
        "429 with `Retry-After: 5` (past the deadline)",
        gateway(429, "Too Many Requests", "THROTTLED", **{"Retry-After": "5"}),
        503,
        "the results service is busy; retry later",
        1,
        "WARNING upstream failure",
        "5",
    ),
    Row(
        "hot partition",
        "429 of the Query Result Lambda (DynamoDB throttled the user's partition)",
        Reply(
            status=429,
            body=json.dumps({"detail": HOT_PARTITION}).encode(),
            headers={"content-type": "application/json", "Retry-After": "2"},
        ),
        429,
        HOT_PARTITION,
        1,
        "INFO upstream throttled this user's reads",
        "2",
    ),
    Row(
        "resource policy / VPC endpoint",
        "403 `ForbiddenException`",
        gateway(403, "Forbidden", "ForbiddenException"),
        502,
        "the results service refused the call",
        1,
        "ERROR the internal API refused the call",
    ),
    Row(
        "IAM denied",
        "403 `AccessDeniedException`",
        gateway(403, "User is not authorized", "AccessDeniedException"),
        502,
        "the results service refused the call",
        1,
        "ERROR the internal API refused the call",
    ),
    Row(
        "wrong stage or path",
        "403 `MissingAuthenticationTokenException`",
        gateway(403, "Missing Authentication Token", "MissingAuthenticationTokenException"),
        502,
        "the results service refused the call",
        1,
        "ERROR the internal API refused the call",
    ),
    Row(
        "connection refused",
        "nothing listens",
        None,
        503,
        "the results service is unavailable; retry later",
        3,
        "WARNING upstream failure",
        "1",
    ),
    Row(
        "reset mid-body",
        "TCP reset after 100 bytes of the body",
        Reply(body=b'{"user_id": "' + b"u" * 5000 + b'"}', reset_after=100),
        502,
        "the results service answered something unusable",
        3,
        "WARNING upstream failure",
    ),
    Row(
        "not JSON",
        "200 with an HTML body",
        Reply(body=b"<html>oops</html>"),
        502,
        "the results service answered something unusable",
        1,
        "WARNING upstream failure",
    ),
    Row(
        "wrong shape",
        '200 `{"rows": []}`',
        Reply(body=b'{"rows": []}'),
        502,
        "the results service answered something unusable",
        1,
        "WARNING upstream failure",
    ),
    Row(
        "Lambda error shape",
        '200 `{"errorMessage", "errorType"}`',
        Reply(body=b'{"errorMessage": "boom", "errorType": "KeyError"}'),
        502,
        "the results service answered something unusable",
        1,
        "WARNING upstream failure",
    ),
    Row(
        "oversized body",
        "200 with a 9 MiB body",
        Reply(body=b'{"pad": "' + b"x" * (9 * 1024 * 1024) + b'"}'),
        502,
        "the results service answered something unusable",
        1,
        "WARNING upstream failure",
    ),
    Row(
        "trickling body",
        "200, 10 bytes every 0.3 s",
        Reply(body=PAGE, trickle_bytes=10, trickle_pause=0.3),
        504,
        "the results service did not answer in time",
        3,
        "WARNING upstream failure",
    ),
]


def _request_id(row: Row) -> str:
    return "fault-" + row.fault.replace(" ", "-").replace("/", "-")


def _settings(url: str) -> ServiceSettings:
    return ServiceSettings(
        environment="local",
        internal_api_url=url + "/prod",
        upstream_deadline_seconds=DEADLINE,
        upstream_attempt_timeout_seconds=0.8,
        upstream_max_attempts=3,
        breaker_failure_threshold=100,
    )


@pytest.mark.parametrize("row", MATRIX, ids=[row.fault for row in MATRIX])
def test_fault(row, serve, json_logs):
    with MisbehavingServer(row.reply or Reply()) as upstream:
        url = upstream.url
        if row.reply is None:
            upstream.__exit__(None, None, None)  # nothing listens any more
        with serve(create_service(_settings(url))) as service:
            started = time.monotonic()
            response = service.request(
                "POST",
                "/query/result",
                {"user_id": "u-1"},
                headers={"X-Request-Id": _request_id(row)},
            )
            elapsed = time.monotonic() - started
        attempts = len(upstream.requests)
    assert response.status == row.status
    assert json.loads(response.data) == {"detail": row.detail}
    assert response.headers.get("retry-after") == row.retry_after
    assert elapsed < DEADLINE + 0.5
    if row.reply is not None:
        assert attempts == row.attempts
    level, message = row.log.split(" ", 1)
    logged = [
        line
        for line in json_logs.lines
        if line["level"] == level
        and line["message"].startswith(message)
        and line["request_id"] == _request_id(row)
    ]
    assert logged, json_logs.lines
    assert logged[0]["attempts"] == row.attempts
    assert logged[0]["status"] == row.status


def test_open_circuit_answers_at_once_without_calling(serve):
    settings = _settings("http://127.0.0.1:9").model_copy(
        update={"breaker_failure_threshold": 2, "upstream_max_attempts": 1}
    )
    with MisbehavingServer(Reply(status=502, body=b"{}")) as upstream:
        settings = settings.model_copy(update={"internal_api_url": upstream.url + "/prod"})
        with serve(create_service(settings)) as service:
            for _ in range(2):
                assert service.request("POST", "/query/result", {"user_id": "u"}).status == 502
            response = service.request("POST", "/query/result", {"user_id": "u"})
        calls = len(upstream.requests)
    assert response.status == 503
    assert json.loads(response.data) == {"detail": "the results service is failing; retry later"}
    assert int(response.headers["retry-after"]) >= 1
    assert calls == 2


def render_table() -> str:
    lines = [
        "| fault | the internal API does | the client gets | detail | attempts | Retry-After |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in MATRIX:
        attempts = str(row.attempts) if row.reply is not None else "3 (connects)"
        lines.append(
            f"| {row.fault} | {row.upstream} | {row.status} | {row.detail} | {attempts} "
            f"| {row.retry_after or '-'} |"
        )
    lines.append(
        "| circuit open | (two failed requests in a row, threshold 2) | 503 "
        "| the results service is failing; retry later | 0 | cool-down left |"
    )
    return "\n".join(lines)


START, END = "<!-- fault-matrix:start -->", "<!-- fault-matrix:end -->"


def test_docs_table_matches():
    text = DOCS.read_text()
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    expected = f"{before}{START}\n{render_table()}\n{END}{after}"
    if os.environ.get("UPDATE_FAULT_MATRIX"):
        DOCS.write_text(expected)
    assert text == expected, "docs/fault-matrix.md is stale: run with UPDATE_FAULT_MATRIX=1"
