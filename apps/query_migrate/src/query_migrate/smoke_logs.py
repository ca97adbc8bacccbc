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
    logs: LogSource | None,
    request_id: str | None,
    since_ms: int,
    wait: float,
    expect: Mapping[str, str] | None = None,
) -> list[Check]:
    """Whether the request id ``crossed`` each hop, looked up until ``wait`` seconds pass.

    ``expect`` says per hop: "required" (the default), "optional" (ok when found, skipped
    when not), or why the hop is not looked up at all (the phase's reason).
    """
    expect = expect or dict.fromkeys(LOG_HOPS, "required")
    reasons = {hop: why for hop, why in expect.items() if why not in {"required", "optional"}}
    if set(reasons) == set(LOG_HOPS) and len(set(reasons.values())) == 1:
        return [Check.skipped("logs", next(iter(reasons.values())))]
    if logs is None:
        return [Check.skipped("logs", "no --log-groups (LogGroupNames) and no --log-dir")]
    if request_id is None:
        return [Check.skipped("logs", "the public page did not succeed: nothing to follow")]
    pending = dict.fromkeys(hop for hop in LOG_HOPS if hop not in reasons)
    found: dict[str, bool | None] = {}
    deadline = time.monotonic() + wait
    try:
        while True:
            for hop in list(pending):
                seen = logs.contains(hop, request_id, since_ms)
                if seen is not False:
                    found[hop] = seen
                    del pending[hop]
            required = [hop for hop in pending if expect.get(hop) == "required"]
            if not required or time.monotonic() >= deadline:
                break
            time.sleep(min(2.0, max(0.1, wait / 10)))
    except AwsError as exc:
        return [Check.fail("logs", str(exc), "logs:FilterLogEvents on the stack's log groups")]
    return [
        _verdict(
            hop,
            f"{request_id} ({logs.label})",
            found,
            wait=wait,
            reason=reasons.get(hop),
            optional=expect.get(hop) == "optional",
        )
        for hop in LOG_HOPS
    ]


def _verdict(
    hop: str,
    looked_up: str,
    found: dict[str, bool | None],
    *,
    wait: float,
    reason: str | None,
    optional: bool,
) -> Check:
    """One hop's check: skipped for the phase's ``reason``, else by what was ``found``
    (``looked_up``: "<request id> (<where>)")."""
    name = f"log: {hop}"
    request_id, _, label = looked_up.partition(" ")
    if reason is not None:
        return Check.skipped(name, reason)
    if hop not in found and optional:
        why = "not found: the canary sent the request the other way"
        return Check.skipped(name, f"{request_id} {why} {label}")
    if hop not in found:
        detail = f"{request_id} not found in {wait:g} s {label}"
        fix = "the request did not cross this hop, or its logs lag: rerun"
        return Check.fail(name, detail, fix)
    if found[hop] is None:
        return Check.skipped(name, f"no log for this hop {label}")
    return Check.ok(name, f"{request_id} found {label}")
