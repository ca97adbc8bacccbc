"""``status``: the traffic switch on one screen.

The phase of the cutover (:mod:`query_migrate.phase`), the Query Lambda's alias ``live`` (its
version and the canary's weights), the latest CodeDeploy
deployment of its deployment group, the stack's alarms, and each version's invocations,
errors and p99 duration over the last minutes (CloudWatch's ``ExecutedVersion`` dimension of
the alias). Healthy means: no alarm in ALARM, and the latest deployment neither failed nor
stopped, and the public API invoking alias live once traffic moves (canary, ecs, eks gone).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table

from query_migrate._aws import Aws, aws_errors
from query_migrate._errors import AwsError
from query_migrate._inputs import Context, Outputs
from query_migrate.phase import Phase, decide_phase, read_facts

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch.type_defs import (
        DimensionTypeDef,
        MetricDataQueryTypeDef,
        MetricStatTypeDef,
    )

__all__ = ["Status", "collect_status", "render_status", "watch"]

_BAD_DEPLOYMENTS = {"Failed", "Stopped"}


#: The phases in which clients' requests reach alias live's ECS version.
_MOVED = {Phase.CANARY, Phase.ECS, Phase.EKS_GONE}


@dataclass
class Status:
    phase: Phase | None = None
    function: str | None = None
    alias_version: str | None = None
    weights: dict[str, float] = field(default_factory=dict)
    deployment: dict[str, Any] | None = None
    alarms: list[dict[str, str]] = field(default_factory=list)
    metrics: dict[str, dict[str, float | None]] = field(default_factory=dict)
    minutes: int = 5
    notes: list[str] = field(default_factory=list)
    #: AWS calls that failed: what could not be checked.
    errors: list[str] = field(default_factory=list)
    #: What does not hold in the phase, each with its fix.
    problems: list[str] = field(default_factory=list)
    at: str = ""

    @property
    def ok(self) -> bool:
        alarming = any(alarm["state"] == "ALARM" for alarm in self.alarms)
        failed = self.deployment is not None and self.deployment["status"] in _BAD_DEPLOYMENTS
        return not alarming and not failed and not self.errors and not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "command": "status",
            "ok": self.ok,
            "at": self.at,
            "phase": self.phase and str(self.phase),
            "alias": {
                "function": self.function,
                "version": self.alias_version,
                "weights": self.weights,
            },
            "deployment": self.deployment,
            "alarms": self.alarms,
            "minutes": self.minutes,
            "versions": self.metrics,
            "notes": self.notes,
            "errors": self.errors,
            "problems": self.problems,
        }


def _alias(aws: Aws, status: Status, function: str) -> None:
    with aws_errors(f"GetAlias {function}:live"):
        alias = aws.lambda_.get_alias(FunctionName=function, Name="live")
    status.alias_version = alias["FunctionVersion"]
    extra = dict(alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {}))
    status.weights = {status.alias_version: round(1 - sum(extra.values()), 4), **extra}


def _deployment(aws: Aws, status: Status, application: str, group: str, now: datetime) -> None:
    """The newest deployment of the group among those of the last 30 days (every page)."""
    with aws_errors(f"ListDeployments {application}/{group}"):
        pages = aws.codedeploy.get_paginator("list_deployments").paginate(
            applicationName=application,
            deploymentGroupName=group,
            createTimeRange={"start": now - timedelta(days=30), "end": now + timedelta(minutes=1)},
        )
        ids = [deployment for page in pages for deployment in page.get("deployments", [])]
        if not ids:
            status.deployment = None
            status.notes.append("no CodeDeploy deployment in the last 30 days")
            return
        infos = [
            info
            for start in range(0, len(ids), 25)
            for info in aws.codedeploy.batch_get_deployments(
                deploymentIds=ids[start : start + 25]
            ).get("deploymentsInfo", [])
        ]
    latest = max(infos, key=lambda info: info.get("createTime", datetime.min.replace(tzinfo=UTC)))
    overview = latest.get("deploymentOverview", {})
    status.deployment = {
        "id": latest.get("deploymentId", "?"),
        "status": latest.get("status", "?"),
        "config": latest.get("deploymentConfigName", ""),
        "created": str(latest.get("createTime", "")),
        "overview": {key: value for key, value in overview.items() if value},
        "error": latest.get("errorInformation", {}).get("message", ""),
    }


def _alarms(aws: Aws, status: Status, names: list[str]) -> None:
    with aws_errors("DescribeAlarms"):
        alarms = aws.cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]
    found = {alarm["AlarmName"]: alarm for alarm in alarms}
    for name in names:
        alarm = found.get(name)
        if alarm is None:
            status.alarms.append({"name": name, "state": "NOT FOUND", "reason": ""})
        else:
            status.alarms.append(
                {
                    "name": name,
                    "state": alarm.get("StateValue", "?"),
                    "reason": alarm.get("StateReason", ""),
                }
            )


def _metrics(aws: Aws, status: Status, function: str, now: datetime) -> None:
    queries: list[MetricDataQueryTypeDef] = []
    stats = (
        ("invocations", "Invocations", "Sum"),
        ("errors", "Errors", "Sum"),
        ("p99_ms", "Duration", "p99"),
    )
    versions = list(status.weights)
    for index, version in enumerate(versions):
        dimensions: list[DimensionTypeDef] = [
            {"Name": "FunctionName", "Value": function},
            {"Name": "Resource", "Value": f"{function}:live"},
            {"Name": "ExecutedVersion", "Value": version},
        ]
        for key, metric, stat in stats:
            metric_stat: MetricStatTypeDef = {
                "Metric": {
                    "Namespace": "AWS/Lambda",
                    "MetricName": metric,
                    "Dimensions": dimensions,
                },
                "Period": status.minutes * 60,
                "Stat": stat,
            }
            queries.append({"Id": f"{key.replace('_', '')}{index}", "MetricStat": metric_stat})
    # Whole minutes, the end rounded up, so that the last partial minute counts.
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    with aws_errors("GetMetricData"):
        answer = aws.cloudwatch.get_metric_data(
            MetricDataQueries=queries,
            StartTime=end - timedelta(minutes=status.minutes),
            EndTime=end,
        )
    values = {r["Id"]: r.get("Values", []) for r in answer.get("MetricDataResults", [])}
    for index, version in enumerate(versions):
        row: dict[str, float | None] = {}
        for key, _, stat in stats:
            found = values.get(f"{key.replace('_', '')}{index}", [])
            if stat == "Sum":
                row[key] = float(sum(found))
            else:
                row[key] = round(max(found), 1) if found else None
        status.metrics[version] = row


def _phase(aws: Aws, status: Status, outputs: Outputs, context: Context) -> None:
    facts = read_facts(aws, outputs, context)
    status.phase = decide_phase(facts)
    if status.phase in _MOVED and facts.attached is False:
        status.problems.append(
            "traffic moves to ECS, but the public API still invokes the old Query Lambda: "
            "run query-migrate attach (Switch step 1)"
        )


def collect_status(
    aws: Aws, outputs: Outputs, *, minutes: int, context: Context | None = None
) -> Status:
    now = datetime.now(UTC)
    status = Status(minutes=minutes, at=now.isoformat(timespec="seconds"))
    try:
        _phase(aws, status, outputs, context or Context())
    except AwsError as exc:
        status.errors.append(str(exc))
    function = outputs.get("QueryLambdaFunctionName")
    status.function = function
    steps: list[Callable[[], None]] = []
    if function:
        steps.append(lambda: _alias(aws, status, function))
    else:
        status.notes.append("no --query-lambda: alias and metrics not shown")
    application = outputs.get("CodeDeployApplicationName")
    group = outputs.get("CodeDeployDeploymentGroupName")
    if application and group:
        steps.append(lambda: _deployment(aws, status, application, group, now))
    else:
        status.notes.append("no --codedeploy-app/--deployment-group: deployment not shown")
    if names := outputs.listing("AlarmNames"):
        steps.append(lambda: _alarms(aws, status, names))
    else:
        status.notes.append("no --alarms: alarms not shown")
    if function:
        steps.append(lambda: _metrics(aws, status, function, now))
    for step in steps:
        try:
            step()
        except AwsError as exc:
            status.errors.append(str(exc))
    return status


def watch(
    refresh: Callable[[], Status],
    show: Callable[[Status], None],
    *,
    interval: float,
    count: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Status:
    """Show ``refresh()``, then a fresh one every ``interval`` seconds: ``count`` times, or
    until Ctrl-C (None); the last status shown, which the exit code is taken from."""
    current = refresh()
    shown = 0
    try:
        while True:
            show(current)
            shown += 1
            if count is not None and shown >= count:
                break
            sleep(interval)
            current = refresh()
    except KeyboardInterrupt:
        pass
    return current


def _fmt(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def render_status(status: Status) -> Group:
    parts: list[Any] = []
    if status.phase is not None:
        parts.append(f"phase [bold]{status.phase}[/]: {status.phase.meaning}")
    if status.function:
        alias = Table(title=f"alias {status.function}:live", title_justify="left")
        for column in (
            "version",
            "weight",
            f"invocations ({status.minutes} min)",
            "errors",
            "p99 ms",
        ):
            alias.add_column(column, justify="right")
        for version, weight in status.weights.items():
            row = status.metrics.get(version, {})
            alias.add_row(
                version + (" (alias)" if version == status.alias_version else ""),
                f"{weight:.0%}",
                _fmt(row.get("invocations")),
                _fmt(row.get("errors")),
                _fmt(row.get("p99_ms"), 1),
            )
        parts.append(alias)
    if status.deployment is not None:
        deployment = status.deployment
        color = "red" if deployment["status"] in _BAD_DEPLOYMENTS else "green"
        overview = ", ".join(f"{k} {v}" for k, v in deployment["overview"].items()) or "–"
        line = (
            f"CodeDeploy {deployment['id']}: [{color}]{deployment['status']}[/] "
            f"({deployment['config']}; {overview})"
        )
        if deployment["error"]:
            line += f": {deployment['error']}"
        parts.append(line)
    if status.alarms:
        alarms = Table(title="alarms", title_justify="left")
        for column in ("alarm", "state", "reason"):
            alarms.add_column(column)
        for alarm in status.alarms:
            color = {"OK": "green", "ALARM": "red"}.get(alarm["state"], "yellow")
            alarms.add_row(alarm["name"], f"[{color}]{alarm['state']}[/]", alarm["reason"])
        parts.append(alarms)
    parts += [f"[dim]{note}[/]" for note in status.notes]
    parts += [f"[red]could not check: {error}[/]" for error in status.errors]
    parts += [f"[red]✗ {problem}[/]" for problem in status.problems]
    verdict = "[green]healthy[/]" if status.ok else "[red]NOT healthy[/]"
    parts.append(f"{verdict} at {status.at}")
    return Group(*parts)
