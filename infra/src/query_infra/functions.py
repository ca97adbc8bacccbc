"""One Lambda function definition for both Lambdas: a role, a log group, the shared package."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from query_infra import nag
from query_infra.common import log_group
from query_infra.monitoring import Watch

__all__ = ["PythonFunction"]


class PythonFunction(Construct):
    """A Python 3.12 (x86_64) function from the Lambda package ``nox -s build`` makes.

    Its role may write its own log group and nothing else until the caller grants more;
    with ``vpc`` it runs in the given subnets behind the given security groups.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        package: Path,
        handler: str,
        memory_size: int,
        timeout: Duration,
        environment: Mapping[str, str],
        description: str,
        reserved_concurrency: int | None = None,
        vpc: ec2.IVpc | None = None,
        subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = log_group(self, "Logs")
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        if vpc is not None:
            self.role.add_managed_policy(
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AWSLambdaVPCAccessExecutionRole"
                )
            )
            nag.vpc_lambda_role(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.X86_64,
            handler=handler,
            code=lambda_.Code.from_asset(str(package)),
            memory_size=memory_size,
            timeout=timeout,
            role=self.role,
            log_group=self.log_group,
            environment={"ENVIRONMENT": "production", "LOG_LEVEL": "INFO", **environment},
            description=description,
            reserved_concurrent_executions=reserved_concurrency,
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=list(security_groups) or None,
        )
        self.log_group.grant_write(self.role)
        nag.python_function(self.function)

    def watches(self, label: str) -> list[Watch]:
        """Errors, throttles and p99 duration of the function, alarms named after ``label``."""
        fn, minute = self.function, Duration.minutes(1)
        return [
            Watch(f"{label}Errors", fn.metric_errors(period=minute), 5, f"{label} Lambda errors"),
            Watch(
                f"{label}Throttles",
                fn.metric_throttles(period=minute),
                1,
                f"{label} Lambda throttles",
            ),
            Watch(
                f"{label}Duration",
                fn.metric_duration(statistic="p99", period=minute),
                10_000,
                f"{label} Lambda p99 >= 10 s",
                3,
            ),
        ]
