"""The public edge: the Query Lambda, its alias ``live`` shifted by a CodeDeploy canary, and
the public REST API in front of it."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from query_infra import nag
from query_infra.common import log_group, stage_options
from query_infra.config import DeploymentConfig
from query_infra.functions import PythonFunction
from query_infra.monitoring import Watch, alarm
from query_infra.network import Network
from query_infra.service import Service

__all__ = ["Edge"]


class Edge(Construct):
    """The Query Lambda forwards the public API's requests to ``EKS_HANDLER_URL``: the
    service's ALB (``trafficTarget=ecs``) or the old EKS handler (``eks``).

    Each deploy publishes a version; CodeDeploy moves alias ``live`` to it, 10 % for
    5 minutes, then all of it, and rolls back when the alias's errors or the public API's
    5xx alarm. Attributes: ``function`` (a :class:`PythonFunction`), ``alias``,
    ``security_group``, ``public_api``, ``deployment_group``, ``alarms`` (the canary's),
    ``watches``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        network: Network,
        service: Service,
    ) -> None:
        super().__init__(scope, construct_id)
        self.security_group = ec2.SecurityGroup(
            self,
            "QueryLambdaSg",
            vpc=network.vpc,
            allow_all_outbound=False,
            description="Query Lambda: calls the internal ALB only",
        )
        service.admit(self.security_group)
        url = config.old_eks_handler_url if config.traffic_target == "eks" else service.url
        self.function = PythonFunction(
            self,
            "Query",
            package=config.lambda_package,
            handler="lambdas.query.handler.handler",
            memory_size=256,
            timeout=Duration.seconds(28),
            environment={"EKS_HANDLER_URL": url, "FORWARD_TIMEOUT_SECONDS": "25"},
            description=f"Query Lambda: forwards to the query service ({config.traffic_target})",
            vpc=network.vpc,
            subnets=network.subnets,
            security_groups=[self.security_group],
        )
        self.alias = lambda_.Alias(
            self, "Live", alias_name="live", version=self.function.function.current_version
        )
        self.public_api = apigw.LambdaRestApi(
            self,
            "PublicApi",
            handler=self.alias,
            proxy=True,
            rest_api_name=f"query-public-{config.environment}",
            description="The query service's public API (Query Lambda, alias live)",
            deploy_options=stage_options(log_group(self, "PublicApiAccessLogs")),
            cloud_watch_role=True,
        )
        nag.public_api(self.public_api)
        minute = Duration.minutes(1)
        self.alarms = [
            alarm(
                self,
                Watch(
                    "LiveAliasErrors",
                    self.alias.metric_errors(period=minute),
                    1,
                    "errors on the Query Lambda alias live",
                ),
            ),
            alarm(
                self,
                Watch(
                    "PublicApi5xx",
                    self.public_api.metric_server_error(period=minute),
                    5,
                    "public API 5XX",
                ),
            ),
        ]
        self.deployment_group = codedeploy.LambdaDeploymentGroup(
            self,
            "Canary",
            alias=self.alias,
            deployment_config=codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
            alarms=self.alarms,
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, deployment_in_alarm=True, stopped_deployment=True
            ),
        )
        nag.canary(self.deployment_group)
        self.watches = self.function.watches("Query")
