"""``retire-marketing``: how much ``/query/marketing`` is still used, then its 410.

The new Query Lambda answers ``410`` on ``/query/marketing`` and below whatever its traffic
target (``query_core``'s route check, docs/contract.md#retired-marketing), so retiring the
path is repointing its integrations at the alias ``live``: ``attach``'s plan and record for
those paths alone, undone by ``detach`` with that record. ``attach`` leaves them to this step.

The use over the last N days comes from the stage's detailed CloudWatch metrics (``Count``
per ``Resource`` and ``Method``) when they are on, else from its access log (the lines that
name the path; the log format must hold ``$context.resourcePath`` or ``$context.path``).
With neither, the use is unknown, and unknown is refused like used unless forced.

An operator's own checks are not a client's use: ``smoke``'s public hop sends one request to
``/query/marketing`` as the test identity (``canaryTestUserId``). When the access log's format
also holds who called (the variable of the context's ``ownerClaim``: ``CALLER_VARIABLES``), its
lines of the test identity are left out (and said), and that log is preferred to the metrics,
which cannot tell callers apart (docs/runbook.md#retire-querymarketing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from query_core import RETIRED_PATH, is_retired_path

from query_migrate._aws import Aws, aws_errors
from query_migrate._errors import RefusedError

if TYPE_CHECKING:
    from mypy_boto3_apigateway.type_defs import StageResponseTypeDef

__all__ = [
    "CALLER_VARIABLES",
    "MARKETING_PATH",
    "Usage",
    "caller_of",
    "is_marketing",
    "marketing_use",
    "metrics_enabled",
    "refuse_used",
]

#: The retired path (``query_core.RETIRED_PATH``; this app does not depend on query-core).
MARKETING_PATH = RETIRED_PATH
#: ``/query/marketing`` itself or a path below it: the contract's own rule.
is_marketing = is_retired_path
#: filter_log_events stops counting here: any use is enough to refuse.
_LOG_LINES_COUNTED = 1000
#: The access log variable that holds the caller, by the owner claim (``ownerClaim``) the
#: authorizer issues: the test identity's value there is its user_id, as the owner check says.
CALLER_VARIABLES = {
    "sub": "$context.authorizer.claims.sub",
    "principalId": "$context.authorizer.principalId",
    "caller": "$context.identity.caller",
}
_VARIABLE = re.compile(r"\$context\.[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")


@dataclass
class Usage:
    """Requests on the marketing paths over ``days`` days, and where the number comes from."""

    days: int
    #: "metrics", "access log" or "" (nothing to count from).
    source: str
    #: None when unknown.
    requests: int | None
    by_method: dict[str, int] = field(default_factory=dict)
    detail: str = ""
    #: The test identity's requests, left out of ``requests`` (the access log's lines only).
    test_identity: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "source": self.source or None,
            "requests": self.requests,
            "byMethod": self.by_method,
            "detail": self.detail,
            "testIdentityRequests": self.test_identity,
        }


def metrics_enabled(stage: StageResponseTypeDef | dict[str, Any], path: str, verb: str) -> bool:
    """Whether the stage emits per-method metrics for ``verb path`` (``*/*`` or the method)."""
    settings: dict[str, Any] = dict(stage.get("methodSettings", {}))
    escaped = path.lstrip("/").replace("/", "~1")
    for key in (f"~1{escaped}/{verb}", f"{path.lstrip('/')}/{verb}", "*/*"):
        if key in settings:
            return bool(settings[key].get("metricsEnabled"))
    return False


def refuse_used(usage: Usage, *, force: bool) -> None:
    """Refuse to retire a path still used, or whose use is unknown, unless forced."""
    if force:
        return
    if usage.requests is None:
        raise RefusedError(
            f"the use of {MARKETING_PATH} over the last {usage.days} days is unknown "
            f"({usage.detail}); turn on the stage's detailed CloudWatch metrics (or an access "
            "log with $context.resourcePath) and wait, or --force"
        )
    if usage.requests:
        raise RefusedError(
            f"{MARKETING_PATH} answered {usage.requests} requests in the last {usage.days} days "
            f"({usage.source}); tell its clients first, or --force"
        )


def marketing_use(
    aws: Aws,
    api_id: str,
    stage_name: str,
    methods: list[tuple[str, str]],
    *,
    days: int,
    now: datetime | None = None,
    test_identity: tuple[str, str] | None = None,
) -> Usage:
    """Requests on ``methods`` ((path, verb) pairs) of the stage over the last ``days`` days;
    ``test_identity`` ((user_id, owner claim)): its requests in the access log are left out."""
    end = now or datetime.now(UTC)
    start = end - timedelta(days=days)
    with aws_errors(f"GetStage {api_id}/{stage_name}"):
        stage = aws.apigateway.get_stage(restApiId=api_id, stageName=stage_name)
    log_settings = stage.get("accessLogSettings", {})
    arn, log_format = log_settings.get("destinationArn", ""), log_settings.get("format", "")
    logs_path = "$context.resourcePath" in log_format or "$context.path" in log_format
    variable = CALLER_VARIABLES.get(test_identity[1], "") if test_identity else ""
    tells_caller = bool(arn and logs_path and variable and variable in log_format)
    if (
        not tells_caller
        and methods
        and all(metrics_enabled(stage, path, verb) for path, verb in methods)
    ):
        with aws_errors(f"GetRestApi {api_id}"):
            name = aws.apigateway.get_rest_api(restApiId=api_id)["name"]
        usage = Usage(days, "metrics", 0, detail=f"AWS/ApiGateway Count of {name}/{stage_name}")
        for path, verb in methods:
            dimensions = {"ApiName": name, "Stage": stage_name, "Resource": path, "Method": verb}
            count = _count_metric(aws, dimensions, start, end)
            usage.by_method[f"{verb} {path}"] = count
            usage.requests = (usage.requests or 0) + count
        return usage
    if arn and logs_path:
        group = arn.split(":log-group:", 1)[-1].removesuffix(":*")
        test_user = test_identity[0] if test_identity and tells_caller else None
        lines, own = _count_log_lines(
            aws, group, start, end, log_format=log_format, variable=variable, test_user=test_user
        )
        more = "or more " if lines >= _LOG_LINES_COUNTED else ""
        detail = f"{more}lines of {group} naming the path"
        if test_user is not None:
            detail += f"; {own} more of the test identity {test_user}, not counted"
        return Usage(days, "access log", lines, detail=detail, test_identity=own)
    why = "no detailed metrics on the stage"
    why += ", its access log does not log the path" if arn else ", no access log"
    return Usage(days, "", None, detail=why)


def _count_metric(aws: Aws, dimensions: dict[str, str], start: datetime, end: datetime) -> int:
    """The sum of ``Count`` of one API method (``ApiName``, ``Stage``, ``Resource``, ``Method``)."""
    path, verb = dimensions["Resource"], dimensions["Method"]
    with aws_errors(f"GetMetricStatistics Count {verb} {path}"):
        points = aws.cloudwatch.get_metric_statistics(
            Namespace="AWS/ApiGateway",
            MetricName="Count",
            Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
            StartTime=start,
            EndTime=end,
            Period=86400,
            Statistics=["Sum"],
        )["Datapoints"]
    return round(sum(point.get("Sum", 0.0) for point in points))


def caller_of(line: str, log_format: str, variable: str) -> str | None:
    """The value of ``variable`` in an access log ``line`` written in ``log_format``; None when
    the line does not fit the format (written before the format changed) or lacks it."""
    names: list[str] = []
    pattern: list[str] = []
    last = 0
    for found in _VARIABLE.finditer(log_format):
        pattern.append(re.escape(log_format[last : found.start()]))
        pattern.append("(.*?)")
        names.append(found[0])
        last = found.end()
    pattern.append(re.escape(log_format[last:]))
    match = re.fullmatch("".join(pattern), line, re.DOTALL)
    if match is None or variable not in names:
        return None
    return match[names.index(variable) + 1]


def _count_log_lines(
    aws: Aws,
    group: str,
    start: datetime,
    end: datetime,
    *,
    log_format: str,
    variable: str,
    test_user: str | None,
) -> tuple[int, int]:
    """The lines naming the path, and those of them ``test_user`` sent (not in the first)."""
    count = own = 0
    with aws_errors(f"FilterLogEvents {group}"):
        pages = aws.logs.get_paginator("filter_log_events").paginate(
            logGroupName=group,
            startTime=int(start.timestamp() * 1000),
            endTime=int(end.timestamp() * 1000),
            filterPattern=f'"{MARKETING_PATH}"',
        )
        for page in pages:
            for event in page.get("events", []):
                line = event.get("message", "")
                if test_user is not None and caller_of(line, log_format, variable) == test_user:
                    own += 1
                else:
                    count += 1
            if count >= _LOG_LINES_COUNTED:
                break
    return count, own
