"""Alarms and one dashboard for every hop of the chain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

if TYPE_CHECKING:
    from query_infra.stack import QueryServiceStack

__all__ = ["Monitoring"]


class Monitoring(Construct):
    """CloudWatch alarms (ALB, ECS, private API, Lambdas, DynamoDB), a dashboard, and the
    CodeDeploy canary of the Query Lambda's alias ``live``, rolled back on alarm."""

    def __init__(self, scope: Construct, construct_id: str, *, stack: QueryServiceStack) -> None:
        super().__init__(scope, construct_id)
        five_minutes = Duration.minutes(5)
        alb_metrics = stack.alb.metrics
        tg_metrics = stack.target_group.metrics
        alarms: dict[str, cw.Alarm] = {}

        def alarm(
            name: str, metric: cw.IMetric, threshold: float, description: str, periods: int = 1
        ) -> cw.Alarm:
            created = cw.Alarm(
                self,
                name,
                metric=metric,
                threshold=threshold,
                evaluation_periods=periods,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            alarms[name] = created
            return created

        alarm(
            "AlbTarget5xx",
            tg_metrics.http_code_target(
                code=elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=Duration.minutes(1)
            ),
            10,
            "service answers 5xx",
        )
        alarm(
            "AlbTargetP99",
            tg_metrics.target_response_time(statistic="p99", period=Duration.minutes(1)),
            5,
            "service p99 latency >= 5 s",
            3,
        )
        alarm(
            "Alb5xx",
            alb_metrics.http_code_elb(
                code=elbv2.HttpCodeElb.ELB_5XX_COUNT, period=Duration.minutes(1)
            ),
            10,
            "the ALB itself answers 5xx",
        )
        alarm(
            "EcsCpu",
            stack.service.metric_cpu_utilization(period=five_minutes),
            85,
            "service CPU >= 85 %",
            2,
        )
        alarm(
            "EcsMemory",
            stack.service.metric_memory_utilization(period=five_minutes),
            85,
            "service memory >= 85 %",
            2,
        )
        alarm(
            "PrivateApi5xx",
            stack.private_api.metric_server_error(period=Duration.minutes(1)),
            5,
            "private API 5XX",
        )
        alarm(
            "PrivateApiLatency",
            stack.private_api.metric_latency(statistic="p99", period=Duration.minutes(1)),
            5000,
            "private API p99 >= 5 s",
            3,
        )
        for label, fn in (("QueryResult", stack.query_result_fn), ("Query", stack.query_fn)):
            alarm(
                f"{label}Errors",
                fn.metric_errors(period=Duration.minutes(1)),
                5,
                f"{label} Lambda errors",
            )
            alarm(
                f"{label}Throttles",
                fn.metric_throttles(period=Duration.minutes(1)),
                1,
                f"{label} Lambda throttles",
            )
            alarm(
                f"{label}Duration",
                fn.metric_duration(statistic="p99", period=Duration.minutes(1)),
                10_000,
                f"{label} Lambda p99 >= 10 s",
                3,
            )
        table = stack.table
        alarm(
            "DynamoDbThrottles",
            table.metric_throttled_requests_for_operations(
                operations=[dynamodb.Operation.QUERY], period=Duration.minutes(1)
            ),
            1,
            "DynamoDB throttles Query",
        )

        # The traffic switch: alias "live" moves to the new version, 10 % for 5 minutes,
        # then all of it; the Lambda's errors or the public API's 5xx roll it back.
        live_errors = alarm(
            "LiveAliasErrors",
            stack.live_alias.metric_errors(period=Duration.minutes(1)),
            1,
            "errors on the Query Lambda alias live",
        )
        public_5xx = alarm(
            "PublicApi5xx",
            stack.public_api.metric_server_error(period=Duration.minutes(1)),
            5,
            "public API 5XX",
        )
        canary = codedeploy.LambdaDeploymentGroup(
            self,
            "QueryCanary",
            alias=stack.live_alias,
            deployment_config=codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
            alarms=[live_errors, public_5xx],
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, deployment_in_alarm=True, stopped_deployment=True
            ),
        )

        from query_infra.stack import acknowledge, managed_policy

        acknowledge(
            canary,
            "IAM4",
            "CodeDeploy's Lambda deployments use AWS's documented "
            "AWSCodeDeployRoleForLambdaLimited policy",
            managed_policy("AWSCodeDeployRoleForLambdaLimited"),
        )
        dashboard = cw.Dashboard(
            self, "Dashboard", dashboard_name=f"query-service-{stack.config.environment}"
        )
        dashboard.add_widgets(
            cw.AlarmStatusWidget(title="Alarms", alarms=list(alarms.values()), width=24)
        )
        for name, created in alarms.items():
            dashboard.add_widgets(cw.GraphWidget(title=name, left=[created.metric], width=8))
        self.alarms = alarms
