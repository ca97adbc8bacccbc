"""``retire-marketing``: how much ``/query/marketing`` is still used, then its 410.

The new Query Lambda answers ``410`` on ``/query/marketing`` and below whatever its traffic
target (``query_core``'s route check, docs/contract.md#retired-marketing), so retiring the
path is repointing its integrations at the alias ``live``: ``attach``'s plan and record for
those paths alone, undone by ``detach`` with that record. ``attach`` leaves them to this step.

The use over the last N days comes from the stage's detailed CloudWatch metrics (``Count``
per ``Resource`` and ``Method``) when they are on, else from its access log (the lines that
name the path; the log format must hold ``$context.resourcePath`` or ``$context.path``).
With neither, the use is unknown, and unknown is refused like used unless forced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from query_migrate._aws import Aws, aws_errors
from query_migrate._errors import RefusedError

if TYPE_CHECKING:
    from mypy_boto3_apigateway.type_defs import StageResponseTypeDef

__all__ = [
    "MARKETING_PATH",
    "Usage",
    "is_marketing",
    "marketing_use",
    "metrics_enabled",
    "refuse_used",
]

#: The retired path (``query_core.RETIRED_PATH``; this app does not depend on query-core).
MARKETING_PATH = "/query/marketing"
#: filter_log_events stops counting here: any use is enough to refuse.
_LOG_LINES_COUNTED = 1000


def is_marketing(path: str) -> bool:
    """``/query/marketing`` itself or a path below it."""
    return path.rstrip("/") == MARKETING_PATH or path.startswith(MARKETING_PATH + "/")


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

    def as_json(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "source": self.source or None,
            "requests": self.requests,
            "byMethod": self.by_method,
            "detail": self.detail,
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
) -> Usage:
    """Requests on ``methods`` ((path, verb) pairs) of the stage over the last ``days`` days."""
    end = now or datetime.now(UTC)
    start = end - timedelta(days=days)
    with aws_errors(f"GetStage {api_id}/{stage_name}"):
        stage = aws.apigateway.get_stage(restApiId=api_id, stageName=stage_name)
    if methods and all(metrics_enabled(stage, path, verb) for path, verb in methods):
        with aws_errors(f"GetRestApi {api_id}"):
            name = aws.apigateway.get_rest_api(restApiId=api_id)["name"]
        usage = Usage(days, "metrics", 0, detail=f"AWS/ApiGateway Count of {name}/{stage_name}")
        for path, verb in methods:
            dimensions = {"ApiName": name, "Stage": stage_name, "Resource": path, "Method": verb}
            count = _count_metric(aws, dimensions, start, end)
            usage.by_method[f"{verb} {path}"] = count
            usage.requests = (usage.requests or 0) + count
        return usage
    log_settings = stage.get("accessLogSettings", {})
    arn, log_format = log_settings.get("destinationArn", ""), log_settings.get("format", "")
    if arn and ("$context.resourcePath" in log_format or "$context.path" in log_format):
        group = arn.split(":log-group:", 1)[-1].removesuffix(":*")
        lines = _count_log_lines(aws, group, start, end)
        more = "or more " if lines >= _LOG_LINES_COUNTED else ""
        return Usage(days, "access log", lines, detail=f"{more}lines of {group} naming the path")
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


def _count_log_lines(aws: Aws, group: str, start: datetime, end: datetime) -> int:
    count = 0
    with aws_errors(f"FilterLogEvents {group}"):
        pages = aws.logs.get_paginator("filter_log_events").paginate(
            logGroupName=group,
            startTime=int(start.timestamp() * 1000),
            endTime=int(end.timestamp() * 1000),
            filterPattern=f'"{MARKETING_PATH}"',
        )
        for page in pages:
            count += len(page.get("events", []))
            if count >= _LOG_LINES_COUNTED:
                break
    return count
