"""``QueryServiceStack``: the constructs of the query service, composed.

client -> public REST API -> Query Lambda (alias "live", CodeDeploy canary)      [Edge]
       -> internal ALB -> ECS Fargate service                                    [Service]
       -> private REST API (execute-api VPC endpoint, IAM) -> Query Result Lambda [InternalApi]
       -> DynamoDB results table                                                 [Data]
in a private VPC with the endpoints the tasks need [Network]; alarms, dashboard [Monitoring].
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from query_infra.common import ApiGatewayAccount
from query_infra.config import DeploymentConfig
from query_infra.data import Data
from query_infra.edge import Edge
from query_infra.internal_api import InternalApi
from query_infra.monitoring import Monitoring
from query_infra.network import Network
from query_infra.service import Service

__all__ = ["QueryServiceStack"]


class QueryServiceStack(Stack):
    """The whole service in one stack; environment-agnostic, facts from the context."""

    def __init__(
        self, scope: Construct, stack_id: str, *, config: DeploymentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, stack_id, **kwargs)
        self.config = config
        self.network = Network(self, "Network", config=config)
        self.data = Data(self, "Data", config=config)
        self.api_account = ApiGatewayAccount(self, "ApiGatewayAccount")
        # The tasks' identity binds two constructs: the private API admits only this role.
        self.task_role = iam.Role(
            self,
            "ServiceTaskRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="The query service's tasks: may call POST /query/result of the private API",
        )
        self.internal_api = InternalApi(
            self,
            "InternalApi",
            config=config,
            network=self.network,
            table=self.data.table,
            token_keys=self.data.token_keys,
            caller=self.task_role,
            account=self.api_account,
        )
        self.service = Service(
            self,
            "Service",
            config=config,
            network=self.network,
            internal_api=self.internal_api,
            task_role=self.task_role,
            caller_proof_keys=self.data.caller_proof_keys,
        )
        self.edge = Edge(
            self,
            "Edge",
            config=config,
            network=self.network,
            service=self.service,
            account=self.api_account,
            caller_proof_keys=self.data.caller_proof_keys,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            dashboard_name=f"query-service-{config.environment}",
            watches=[
                *self.service.watches,
                *self.internal_api.watches,
                *self.edge.watches,
                *self.data.watches,
            ],
            also=self.edge.alarms,
        )
        self._caller_proof_rule()
        self._outputs()

    def _caller_proof_rule(self) -> None:
        """``callerProofRequired=false`` is warned at synth, like ``ownerCheck=false``."""
        if not self.config.caller_proof_required:
            Annotations.of(self).add_warning_v2(
                "query:caller-proof-off",
                "callerProofRequired=false: the service trusts X-Caller-Id from any peer in the "
                "Query Lambda's security group (docs/security.md#caller-proof)",
            )

    def _owner_rule(self) -> str:
        """The existing API's owner rule, as output ``OwnerCheck``; warned at synth when off."""
        if self.config.owner_check_disabled:
            Annotations.of(self).add_warning_v2(
                "query:owner-check-off",
                "ownerCheck=false: every caller of the existing public API reads any user's "
                "results (docs/security.md#the-existing-public-api)",
            )
            return "off: any caller reads any user's results"
        return f"on: the caller is the authorizer's {self.config.owner_claim}"

    def _outputs(self) -> None:
        """The names the runbook and ``query-migrate`` read, by these output ids (pinned to
        query-migrate's table by tests/test_app.py: a rename on one side fails CI)."""
        edge, service, internal_api = self.edge, self.service, self.internal_api
        log_groups = {
            "query-lambda": edge.function.log_group,
            "service": service.log_group,
            "query-result-lambda": internal_api.function.log_group,
            "internal-api": internal_api.access_logs,
        }
        outputs = {
            "QueryLambdaAliasArn": edge.alias.function_arn,
            "QueryLambdaFunctionName": edge.function.function.function_name,
            "QueryResultFunctionName": internal_api.function.function.function_name,
            "InternalApiUrl": internal_api.url,
            "InternalApiId": internal_api.api.rest_api_id,
            "ServiceUrl": service.url,
            "ResultsTableName": self.data.table.table_name,
            "EcsClusterName": service.cluster.cluster_name,
            "EcsServiceName": service.service.service_name,
            "TargetGroupArn": service.target_group.target_group_arn,
            "CodeDeployApplicationName": edge.deployment_group.application.application_name,
            "CodeDeployDeploymentGroupName": edge.deployment_group.deployment_group_name,
            "AlarmNames": ",".join(a.alarm_name for a in self.monitoring.alarms.values()),
            "LogGroupNames": ",".join(f"{k}={g.log_group_name}" for k, g in log_groups.items()),
            "QueryLambdaSecurityGroupId": edge.security_group.security_group_id,
            "VpcId": self.network.vpc.vpc_id,
            "TokenSecretArn": self.data.token_keys.secret_arn,
        }
        if edge.check is not None:  # the canary check's verdicts (docs/runbook.md)
            outputs["CanaryCheckLogGroupName"] = edge.check.log_group.log_group_name
        if edge.public.url is not None:  # create mode only: the existing API keeps its URL
            outputs["PublicApiUrl"] = edge.public.url
            outputs["PublicApiAuth"] = self.config.public_auth
        else:  # who may read whose results through the existing API (docs/security.md)
            outputs["OwnerCheck"] = self._owner_rule()
        for output_id, value in outputs.items():
            CfnOutput(self, output_id, value=value)
