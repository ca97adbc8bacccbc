"""Small pieces every construct uses: the API stage, log retention, a log group."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from query_infra import nag

__all__ = [
    "CONTAINER_PORT",
    "LOG_RETENTION",
    "STAGE",
    "ApiGatewayAccount",
    "log_group",
    "stage_options",
]

#: The port the service listens on inside its task.
CONTAINER_PORT = 8000
#: The stage of both REST APIs.
STAGE = "prod"
LOG_RETENTION = logs.RetentionDays.ONE_MONTH


def log_group(scope: Construct, construct_id: str) -> logs.LogGroup:
    """A log group kept a month and removed with the stack (the data lives in the table)."""
    return logs.LogGroup(
        scope, construct_id, retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY
    )


def stage_options(
    access_logs: logs.ILogGroup, *, rate_limit: float | None = None, burst_limit: int | None = None
) -> apigw.StageOptions:
    """Stage ``prod`` with JSON access logs, error logging, metrics and X-Ray tracing, and
    the given throttling for every method."""
    return apigw.StageOptions(
        throttling_rate_limit=rate_limit,
        throttling_burst_limit=burst_limit,
        stage_name=STAGE,
        access_log_destination=apigw.LogGroupLogDestination(access_logs),
        access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
            caller=True,
            http_method=True,
            ip=True,
            protocol=True,
            request_time=True,
            resource_path=True,
            response_length=True,
            status=True,
            user=True,
        ),
        logging_level=apigw.MethodLoggingLevel.ERROR,
        metrics_enabled=True,
        tracing_enabled=True,
    )


class ApiGatewayAccount(Construct):
    """API Gateway's account-wide CloudWatch role: one ``AWS::ApiGateway::Account`` for both
    APIs (each API's own ``cloud_watch_role`` would make one each, overwriting each other).

    Both the setting and its role are retained by ``cdk destroy``: other APIs of the account
    and region log through them by then (docs/runbook.md#deploy, its undo).

    ``attach(api)`` makes an API's stage wait for it (logging needs the role first).
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                )
            ],
        )
        nag.api_gateway_account(self.role)
        self.account = apigw.CfnAccount(self, "Account", cloud_watch_role_arn=self.role.role_arn)
        # The setting is the account's, for every API of the region: `cdk destroy` leaves it
        # and the role it names (else it would name a deleted role and API logging would stop).
        self.role.apply_removal_policy(RemovalPolicy.RETAIN)
        self.account.apply_removal_policy(RemovalPolicy.RETAIN)

    def attach(self, api: apigw.RestApi) -> None:
        api.deployment_stage.node.add_dependency(self.account)
        # The URL output RestApi adds by itself: the stack's outputs name each URL once.
        api.node.try_remove_child("Endpoint")
