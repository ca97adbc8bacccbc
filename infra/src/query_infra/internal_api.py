"""The Query Result Lambda behind the private REST API (execute-api VPC endpoint, IAM auth)."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from query_infra import nag
from query_infra.common import STAGE, ApiGatewayAccount, log_group, stage_options
from query_infra.config import DeploymentConfig
from query_infra.functions import PythonFunction
from query_infra.monitoring import Watch
from query_infra.network import Network

__all__ = ["InternalApi"]

_ROUTE = ("POST", "/query/result")


class InternalApi(Construct):
    """``POST /query/result`` of a private API, proxied to the Query Result Lambda, which may
    only ``Query`` the table (docs/contract.md#internal-api) and read its token keys.

    ``caller`` is the one role allowed to call it (the service's task role): the API's resource
    policy names it, and its identity policy is granted the route. Attributes: ``function``
    (a :class:`PythonFunction`), ``api``, ``url`` (stage included), ``access_logs``, ``watches``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        network: Network,
        table: dynamodb.ITable,
        token_keys: secretsmanager.ISecret,
        caller: iam.IRole,
        account: ApiGatewayAccount,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = PythonFunction(
            self,
            "QueryResult",
            package=config.lambda_package,
            handler="lambdas.query_result.handler.handler",
            memory_size=512,
            timeout=Duration.seconds(15),
            environment={
                "RESULTS_TABLE_NAME": table.table_name,
                "NEXT_TOKEN_SECRET_ARN": token_keys.secret_arn,
                # The direct door: only for the rollback source (docs/contract.md#side-doors).
                "EVENT_SOURCES": (
                    "rest_v1,direct" if config.enable_lambda_rollback_source else "rest_v1"
                ),
            },
            description="Query Result Lambda: a page of results, behind the private API",
            reserved_concurrency=config.reserved_concurrency,
        )
        # It reads its token keys at init, and nothing else of Secrets Manager.
        self.function.role.add_to_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"], resources=[token_keys.secret_arn]
            )
        )
        # Only Query on the table itself: no index is queried, so no index/* grant.
        self.function.role.add_to_policy(
            iam.PolicyStatement(actions=["dynamodb:Query"], resources=[table.table_arn])
        )
        self.access_logs = log_group(self, "AccessLogs")
        endpoint_id = network.execute_api_endpoint.vpc_endpoint_id
        method, path = _ROUTE
        self.api = apigw.RestApi(
            self,
            "PrivateApi",
            rest_api_name=f"query-internal-{config.environment}",
            description="Private API of the Query Result Lambda (VPC endpoint only, IAM auth)",
            endpoint_configuration=apigw.EndpointConfiguration(
                types=[apigw.EndpointType.PRIVATE], vpc_endpoints=[network.execute_api_endpoint]
            ),
            policy=iam.PolicyDocument(
                statements=[
                    # Only through the stack's endpoint ...
                    _deny("DenyOtherEndpoints", "StringNotEquals", "aws:SourceVpce", endpoint_id),
                    # ... and nobody but the caller, whatever their identity policies grant.
                    _deny(
                        "DenyOtherPrincipals", "ArnNotEquals", "aws:PrincipalArn", caller.role_arn
                    ),
                    iam.PolicyStatement(
                        sid="OnlyTheCallerOnlyTheRoute",
                        effect=iam.Effect.ALLOW,
                        principals=[iam.ArnPrincipal(caller.role_arn)],
                        actions=["execute-api:Invoke"],
                        resources=[f"execute-api:/{STAGE}/{method}{path}"],
                        conditions={"StringEquals": {"aws:SourceVpce": endpoint_id}},
                    ),
                ]
            ),
            deploy_options=stage_options(self.access_logs),
            cloud_watch_role=False,
        )
        account.attach(self.api)
        function = self.function.function
        stack = Stack.of(self)
        # The function's whole resource policy is ours (PutResourcePolicy): no CDK-added
        # AWS::Lambda::Permission beside it, which the two would overwrite in turn. So the
        # integration is written out, as LambdaIntegration(allow_test_invoke=False) would.
        self.api.root.resource_for_path(path).add_method(
            method,
            apigw.Integration(
                type=apigw.IntegrationType.AWS_PROXY,
                integration_http_method="POST",
                uri=f"arn:{stack.partition}:apigateway:{stack.region}:lambda:path/2015-03-31"
                f"/functions/{function.function_arn}/invocations",
            ),
            authorization_type=apigw.AuthorizationType.IAM,
        )
        self.function_policy = lambda_.CfnResourcePolicy(
            self,
            "QueryResultPolicy",
            resource_arn=function.function_arn,
            policy_document=_function_policy(
                function.function_arn,
                self.api.arn_for_execute_api(method, path, STAGE),
                caller.role_arn if config.enable_lambda_rollback_source else None,
            ).to_json(),
        )
        nag.private_api(self.api)
        caller.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["execute-api:Invoke"],
                resources=[self.api.arn_for_execute_api(method, path, STAGE)],
            )
        )
        # Without private DNS the API's own hostname does not resolve to the endpoint inside
        # the VPC: the endpoint-specific hostname does (docs/contract.md#configuration).
        self.url = (
            self.api.url
            if config.execute_api_private_dns
            else f"https://{self.api.rest_api_id}-{endpoint_id}.execute-api."
            f"{stack.region}.{stack.url_suffix}/{STAGE}/"
        )
        minute = Duration.minutes(1)
        self.watches = [
            Watch(
                "PrivateApi5xx", self.api.metric_server_error(period=minute), 5, "private API 5XX"
            ),
            Watch(
                "PrivateApiLatency",
                self.api.metric_latency(statistic="p99", period=minute),
                5000,
                "private API p99 >= 5 s",
                3,
            ),
            *self.function.watches("QueryResult"),
        ]


def _deny(sid: str, operator: str, key: str, value: str) -> iam.PolicyStatement:
    """Deny ``execute-api:Invoke`` on the whole API unless ``key`` matches ``value``."""
    return iam.PolicyStatement(
        sid=sid,
        effect=iam.Effect.DENY,
        principals=[iam.AnyPrincipal()],
        actions=["execute-api:Invoke"],
        resources=["execute-api:/*"],
        conditions={operator: {key: value}},
    )


def _function_policy(function_arn: str, route_arn: str, invoker: str | None) -> iam.PolicyDocument:
    """The Query Result Lambda's resource policy (docs/security.md#side-doors).

    API Gateway may invoke it for the private API's route on its stage only (not
    ``test-invoke-stage``: TestInvokeMethod skips the API's IAM auth and resource policy).
    Every other principal is denied, whatever its own policies grant, except ``invoker``
    (the task role, while ``enableLambdaRollbackSource`` lets it invoke directly).
    """
    others: dict[str, dict[str, object]] = {"Bool": {"aws:PrincipalIsAWSService": "false"}}
    if invoker is not None:
        others["ArnNotEquals"] = {"aws:PrincipalArn": invoker}
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="OnlyThePrivateApisRoute",
                principals=[iam.ServicePrincipal("apigateway.amazonaws.com")],
                actions=["lambda:InvokeFunction"],
                resources=[function_arn],
                conditions={"ArnLike": {"aws:SourceArn": route_arn}},
            ),
            iam.PolicyStatement(
                sid="NobodyElse" if invoker is None else "NobodyElseButTheTaskRole",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["lambda:InvokeFunction"],
                resources=[function_arn],
                conditions=others,
            ),
            iam.PolicyStatement(
                sid="NoFunctionUrl",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["lambda:InvokeFunctionUrl"],
                resources=[function_arn],
            ),
        ]
    )
