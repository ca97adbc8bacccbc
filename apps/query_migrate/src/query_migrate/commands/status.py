"""``query-migrate status``: alias weights, CodeDeploy, alarms, per-version metrics."""

from __future__ import annotations

from dataclasses import dataclass, field

import click

from query_migrate.commands._options import ContextOptions, Inputs, command, option
from query_migrate.commands._reporter import Reporter
from query_migrate.status import Status, collect_status, render_status, watch


@dataclass(frozen=True, kw_only=True)
class StatusOptions(ContextOptions):
    minutes: int = field(
        metadata=option(
            "--minutes",
            type=click.IntRange(1, 1440),
            default=5,
            show_default=True,
            help="the window of the per-version metrics",
        )
    )
    watch: bool = field(
        metadata=option(
            "--watch", is_flag=True, help="refresh until Ctrl-C (with --json: a line each time)"
        )
    )
    interval: float = field(
        metadata=option(
            "--interval",
            type=click.FloatRange(1),
            default=15.0,
            show_default=True,
            help="seconds between refreshes, with --watch",
        )
    )
    count: int | None = field(
        metadata=option(
            "--count",
            type=click.IntRange(1),
            default=None,
            help="with --watch: stop after this many refreshes",
        )
    )


@command(
    StatusOptions,
    outputs=(
        "QueryLambdaFunctionName",
        "QueryLambdaAliasArn",
        "ServiceUrl",
        "TargetGroupArn",
        "QueryLambdaSecurityGroupId",
        "CodeDeployApplicationName",
        "CodeDeployDeploymentGroupName",
        "AlarmNames",
    ),
)
def status(options: StatusOptions) -> int:
    """The traffic switch on one screen: phase, alias weights, CodeDeploy, alarms, metrics.

    Shows the phase of the cutover read from the account (no stack, deployed (eks),
    attached, canary, ecs, eks gone; with --context-file, whether the existing public API
    invokes alias live), the Query Lambda's alias live (its version, and the canary's
    version and weight), the latest CodeDeploy deployment of the deployment group, the
    stack's alarms, and each version's invocations, errors and p99 duration over the last
    --minutes. Exit 1 when an
    alarm is in ALARM, the latest deployment failed or was stopped, a call failed, or traffic
    moves to ECS while the public API still invokes the old Query Lambda (with --watch: as of
    the last refresh).
    """
    inputs = Inputs.load(options)

    def refresh() -> Status:
        return collect_status(
            inputs.aws, inputs.outputs, minutes=options.minutes, context=inputs.context
        )

    report = Reporter(as_json=options.as_json)
    if not options.watch:
        current = refresh()
        report.result(current.as_json(), render_status(current))
    else:
        with report.updates(Status.as_json, render_status) as show:
            current = watch(refresh, show, interval=options.interval, count=options.count)
    return 0 if current.ok else 1
