"""Small pieces every construct uses: the API stage, log retention, a log group."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from constructs import Construct

__all__ = ["CONTAINER_PORT", "LOG_RETENTION", "STAGE", "log_group", "stage_options"]

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


def stage_options(access_logs: logs.ILogGroup) -> apigw.StageOptions:
    """Stage ``prod`` with JSON access logs, error logging, metrics and X-Ray tracing."""
    return apigw.StageOptions(
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
