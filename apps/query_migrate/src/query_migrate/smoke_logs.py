"""``smoke``'s last step: the public page's request id, looked up in each hop's log.

In CloudWatch Logs (the stack's ``LogGroupNames``) or in the files of the local chain
(``nox -s serve -- --log-dir DIR``): a hop whose log has the id was crossed by the request.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from query_migrate._aws import Aws, aws_errors
from query_migrate._checks import Check
from query_migrate._errors import AwsError
from query_migrate._inputs import Outputs

__all__ = [
    "LOCAL_LOG_FILES",
    "LOG_HOPS",
    "CloudWatchLogs",
    "LocalLogs",
    "LogSource",
    "log_checks",
    "log_source",
]

#: The hops whose log lines carry X-Request-Id (the ``LogGroupNames`` keys). API Gateway's
#: access log (``internal-api``) records its own request id, so it is not searched.
LOG_HOPS = ("query-lambda", "service", "query-result-lambda")
#: The same hops in the log files ``nox -s serve -- --log-dir DIR`` writes.
LOCAL_LOG_FILES = {
    "query-lambda": "query-lambda.log",
    "service": "ecs-service.log",
    "query-result-lambda": "query-result-lambda.log",
}


class LogSource(Protocol):
    label: str

    def contains(self, hop: str, request_id: str, since_ms: int) -> bool | None:
        """Whether the hop's log has the id; None when the hop has no log here."""
        ...


@dataclass
class CloudWatchLogs:
    """The stack's log groups (output ``LogGroupNames``: ``hop=group,...``)."""

    aws: Aws
    groups: Mapping[str, str]
    label: str = "CloudWatch Logs"

    def contains(self, hop: str, request_id: str, since_ms: int) -> bool | None:
        group = self.groups.get(hop)
        if group is None:
            return None
        with aws_errors(f"FilterLogEvents {group}"):
            answer = self.aws.logs.filter_log_events(
                logGroupName=group, filterPattern=f'"{request_id}"', startTime=since_ms, limit=1
            )
        return any(request_id in event.get("message", "") for event in answer.get("events", []))


@dataclass
class LocalLogs:
    """The log files of the local chain (``nox -s serve -- --log-dir DIR``)."""

    directory: Path
    label: str = "local log files"

    def contains(self, hop: str, request_id: str, since_ms: int) -> bool | None:
        path = self.directory / LOCAL_LOG_FILES[hop]
        if not path.exists():
            return None
        needle = f'"request_id": "{request_id}"'.encode()
        return needle in path.read_bytes()


def log_source(aws: Aws, outputs: Outputs, log_dir: Path | None) -> LogSource | None:
    """The local chain's files with ``--log-dir``, else the stack's log groups, else none."""
    if log_dir is not None:
        return LocalLogs(log_dir)
    if groups := outputs.mapping("LogGroupNames"):
        return CloudWatchLogs(aws, groups)
    return None


def log_checks(
    logs: LogSource | None, request_id: str | None, since_ms: int, wait: float
) -> list[Check]:
    """Whether the request id ``crossed`` each hop, looked up until ``wait`` seconds pass."""
    if logs is None:
        return [Check.skipped("logs", "no --log-groups (LogGroupNames) and no --log-dir")]
    if request_id is None:
        return [Check.skipped("logs", "the public page did not succeed: nothing to follow")]
    pending = dict.fromkeys(LOG_HOPS)
    found: dict[str, bool | None] = {}
    deadline = time.monotonic() + wait
    try:
        while True:
            for hop in list(pending):
                seen = logs.contains(hop, request_id, since_ms)
                if seen is not False:
                    found[hop] = seen
                    del pending[hop]
            if not pending or time.monotonic() >= deadline:
                break
            time.sleep(min(2.0, max(0.1, wait / 10)))
    except AwsError as exc:
        return [Check.fail("logs", str(exc), "logs:FilterLogEvents on the stack's log groups")]
    checks = []
    for hop in LOG_HOPS:
        name = f"log: {hop}"
        if hop in pending:
            detail = f"{request_id} not found in {wait:g} s ({logs.label})"
            fix = "the request did not cross this hop, or its logs lag: rerun"
            checks.append(Check.fail(name, detail, fix))
        elif found[hop] is None:
            checks.append(Check.skipped(name, f"no log for this hop ({logs.label})"))
        else:
            checks.append(Check.ok(name, f"{request_id} found ({logs.label})"))
    return checks
