"""The canary's rollback signals: error rates of the version being deployed, as alarms.

The Query Lambda answers errors instead of raising them, so Lambda's ``Errors`` counts only
crashes; its access line (``request handled``, with ``status`` and ``function_version``,
written by ``query_core``'s Lambda handler) is what says how each request was answered.
Metric filters turn those lines into per-version counts; metric math divides them by the
invocations of that version (Lambda's ``ExecutedVersion`` dimension), and only once the
version has served ``MIN_REQUESTS`` in the period, so that one early failure of ten
requests does not roll back and a quiet minute does not count as healthy.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from query_infra import nag
from query_infra.monitoring import Watch, alarm

__all__ = [
    "ACCESS_LINE",
    "ERROR_RATE_PERCENT",
    "EXTRA_4XX_POINTS",
    "MIN_REQUESTS",
    "Canary",
    "log_filters",
]

#: The message of the one line each Lambda logs per request (query_core.events).
ACCESS_LINE = "request handled"
#: A version that answered at least this share of its requests with 5xx (or crashed) in a
#: minute, with at least MIN_REQUESTS of them, rolls back.
ERROR_RATE_PERCENT = 5
MIN_REQUESTS = 20
#: 4xx answers of the new version above the whole alias's 4xx share, in percentage points:
#: clients' own mistakes are in both; what the new version adds (e.g. refused tokens) is not.
EXTRA_4XX_POINTS = 5
_MINUTE = Duration.minutes(1)


def log_filters() -> dict[str, tuple[logs.IFilterPattern, dict[str, str]]]:
    """The metric filters on the Query Lambda's log group: metric name -> (pattern, dimensions)."""
    handled = logs.FilterPattern.string_value("$.message", "=", ACCESS_LINE)
    version = {"Version": "$.function_version"}
    client_error = logs.FilterPattern.all(
        handled,
        logs.FilterPattern.number_value("$.status", ">=", 400),
        logs.FilterPattern.number_value("$.status", "<", 500),
    )
    return {
        "QueryLambda5xx": (
            logs.FilterPattern.all(handled, logs.FilterPattern.number_value("$.status", ">=", 500)),
            version,
        ),
        "QueryLambda4xx": (client_error, version),
        "QueryLambda4xxAllVersions": (client_error, {}),
    }


class Canary(Construct):
    """CodeDeploy's canary for alias ``live`` (10 % for 5 minutes, then all), rolled back by
    any of ``alarms``: the new version's 5xx-or-crash rate, its extra 4xx rate, the ALB's
    5xx rate (the service behind it) and the public API's 5XX rate (``public_api``: its
    requests and 5XX metrics, the created API's or the existing one's). With ``check``
    (``query_infra.canary_check``), CodeDeploy runs it before any traffic moves and after all
    of it has; its ``Failed`` stops the deployment.

    Attributes: ``alarms``, ``deployment_group``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.Function,
        log_group: logs.ILogGroup,
        alias: lambda_.Alias,
        namespace: str,
        alb: elbv2.ApplicationLoadBalancer,
        target_group: elbv2.ApplicationTargetGroup,
        public_api: tuple[cw.IMetric, cw.IMetric],
        check: lambda_.IFunction | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        counts: dict[str, cw.IMetric] = {}
        for name, (pattern, dimensions) in log_filters().items():
            counts[name] = logs.MetricFilter(
                self,
                f"{name}Filter",
                log_group=log_group,
                filter_pattern=pattern,
                metric_namespace=namespace,
                metric_name=name,
                metric_value="1",
                dimensions=dimensions or None,
                default_value=None if dimensions else 0,
            ).metric(
                statistic=cw.Stats.SUM,
                period=_MINUTE,
                dimensions_map={"Version": alias.version.version} if dimensions else None,
            )
        version_dims = {
            "FunctionName": function.function_name,
            "Resource": f"{function.function_name}:{alias.alias_name}",
            "ExecutedVersion": alias.version.version,
        }
        invocations = function.metric_invocations(period=_MINUTE, dimensions_map=version_dims)
        crashes = function.metric_errors(period=_MINUTE, dimensions_map=version_dims)
        alias_invocations = alias.metric_invocations(period=_MINUTE)
        watches = [
            Watch(
                "NewVersionErrorRate",
                cw.MathExpression(
                    expression=f"IF(requests >= {MIN_REQUESTS}, "
                    "100 * (FILL(answered5xx, 0) + FILL(crashes, 0)) / requests, 0)",
                    using_metrics={
                        "requests": invocations,
                        "answered5xx": counts["QueryLambda5xx"],
                        "crashes": crashes,
                    },
                    label="new version: % of requests answered 5xx or crashed",
                    period=_MINUTE,
                ),
                ERROR_RATE_PERCENT,
                f"the new Query Lambda version answered >= {ERROR_RATE_PERCENT} % 5xx "
                f"(at least {MIN_REQUESTS} requests a minute)",
            ),
            Watch(
                "NewVersionExtra4xx",
                cw.MathExpression(
                    expression=f"IF(requests >= {MIN_REQUESTS} AND alias_all >= {MIN_REQUESTS}, "
                    "100 * FILL(new4xx, 0) / requests"
                    " - 100 * FILL(all4xx, 0) / alias_all, 0)",
                    using_metrics={
                        "requests": invocations,
                        "new4xx": counts["QueryLambda4xx"],
                        "alias_all": alias_invocations,
                        "all4xx": counts["QueryLambda4xxAllVersions"],
                    },
                    label="new version: 4xx share above the alias's, in points",
                    period=_MINUTE,
                ),
                EXTRA_4XX_POINTS,
                f"the new Query Lambda version answers 4xx {EXTRA_4XX_POINTS} points more "
                "often than the alias as a whole",
            ),
            Watch(
                "AlbErrorRate",
                cw.MathExpression(
                    expression=f"IF(requests >= {MIN_REQUESTS}, "
                    "100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests, 0)",
                    using_metrics={
                        "requests": alb.metrics.request_count(period=_MINUTE),
                        "elb5xx": alb.metrics.http_code_elb(
                            code=elbv2.HttpCodeElb.ELB_5XX_COUNT, period=_MINUTE
                        ),
                        "target5xx": target_group.metrics.http_code_target(
                            code=elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=_MINUTE
                        ),
                    },
                    label="ALB: % of requests answered 5xx (by the ALB or the service)",
                    period=_MINUTE,
                ),
                ERROR_RATE_PERCENT,
                f"the internal ALB or the service answered >= {ERROR_RATE_PERCENT} % 5xx",
            ),
            Watch(
                "PublicApi5xxRate",
                cw.MathExpression(
                    expression=f"IF(requests >= {MIN_REQUESTS}, "
                    "100 * FILL(server5xx, 0) / requests, 0)",
                    using_metrics={"requests": public_api[0], "server5xx": public_api[1]},
                    label="public API: % of requests answered 5XX",
                    period=_MINUTE,
                ),
                ERROR_RATE_PERCENT,
                f"the public API answered >= {ERROR_RATE_PERCENT} % 5XX (e.g. the Query Lambda "
                "throttled or timed out: answers it never logs)",
            ),
        ]
        self.alarms = [alarm(self, watch) for watch in watches]
        self.deployment_group = codedeploy.LambdaDeploymentGroup(
            self,
            "Canary",
            alias=alias,
            deployment_config=codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
            alarms=self.alarms,
            pre_hook=check,
            post_hook=check,
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, deployment_in_alarm=True, stopped_deployment=True
            ),
        )
        # The alarms watch the version being deployed: in place before traffic moves to it.
        for created in self.alarms:
            alias.node.add_dependency(created)
        nag.canary(self.deployment_group)
