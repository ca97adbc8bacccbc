"""The public REST API in front of alias ``live``: created by the stack with an authorizer, or
the running account's existing API, kept as it is and granted to invoke the alias."""

from __future__ import annotations

import re

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr
from constructs import Construct

from query_infra import nag
from query_infra.common import ApiGatewayAccount, log_group, stage_options
from query_infra.config import DeploymentConfig
from query_infra.waf import CallerRateLimit, stage_arn

__all__ = ["PublicApi", "source_arn_path"]


def source_arn_path(path: str) -> str:
    """A resource path as it appears in an execute-api ARN: ``{proxy+}`` and ``{id}`` -> ``*``."""
    return re.sub(r"\{[^}]+\}", "*", path)


def _metrics(dimensions: dict[str, str]) -> tuple[cw.Metric, cw.Metric]:
    """The API's requests and 5XX answers a minute (AWS/ApiGateway ``Count``, ``5XXError``)."""

    def metric(name: str) -> cw.Metric:
        return cw.Metric(
            namespace="AWS/ApiGateway",
            metric_name=name,
            dimensions_map=dimensions,
            statistic=cw.Stats.SUM,
            period=Duration.minutes(1),
        )

    return metric("Count"), metric("5XXError")


class PublicApi(Construct):
    """``create`` mode (no ``existingPublicApiId``): a REST API proxying every path to the
    alias (the Query Lambda answers 404 off the contract's paths), callers authenticated by
    ``publicAuth``, the stage throttled. ``existing`` mode: no API is created; the existing
    one, whose auth and routes stay as they are, may invoke the alias on its proxied paths.

    Attributes: ``api`` and ``url`` (None in existing mode); ``api_id`` (either mode);
    ``requests`` and
    ``server_errors``, the API's metrics in either mode (the canary's public 5XX rate).

    In both modes, unless ``callerRateLimit`` is 0, an AWS WAF web ACL limits each caller on
    the stage (``query_infra.waf``); ``rate_limit`` is that ``CallerRateLimit``, or None.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        alias: lambda_.Alias,
        account: ApiGatewayAccount,
    ) -> None:
        super().__init__(scope, construct_id)
        self.api: apigw.RestApi | None = None
        self.url: str | None = None
        #: The id in the events of the API in front (the Query Lambda's ``PUBLIC_API_ID``).
        self.api_id: str = config.existing_public_api_id
        if config.creates_public_api:
            stage = self._create(config, alias, account)
        else:
            self._grant_existing(config, alias)
            stage = stage_arn(
                Stack.of(self), config.existing_public_api_id, config.existing_public_api_stage
            )
        self.rate_limit: CallerRateLimit | None = None
        if config.caller_rate_limit:
            self.rate_limit = CallerRateLimit(
                self,
                "CallerRateLimit",
                resource_arn=stage,
                limit=config.caller_rate_limit,
                key=config.caller_rate_limit_key,
                name=f"query-public-{config.environment}",
            )

    def _create(
        self, config: DeploymentConfig, alias: lambda_.Alias, account: ApiGatewayAccount
    ) -> str:
        """The API, its authorizer and its throttled stage; returns the stage's ARN."""
        api = apigw.LambdaRestApi(
            self,
            "Api",
            handler=alias,
            proxy=True,
            # No Lambda permission for test-invoke-stage: TestInvokeMethod runs the integration
            # without the method's auth (docs/security.md#side-doors).
            integration_options=apigw.LambdaIntegrationOptions(allow_test_invoke=False),
            rest_api_name=f"query-public-{config.environment}",
            description=f"The query service's public API (alias live; auth {config.public_auth})",
            deploy_options=stage_options(
                log_group(self, "AccessLogs"),
                rate_limit=config.throttle_rate_limit,
                burst_limit=config.throttle_burst_limit,
            ),
            default_method_options=self._authorization(config),
            cloud_watch_role=False,
        )
        account.attach(api)
        nag.public_api(api, config.public_auth)
        if config.public_auth == "none":
            Annotations.of(api).add_warning_v2(
                "query:public-auth-none",
                "publicAuth=none: the public API lets ANYONE read any user's results",
            )
        self.api, self.url, self.api_id = api, api.url, api.rest_api_id
        self.requests, self.server_errors = _metrics({"ApiName": api.rest_api_name})
        return api.deployment_stage.stage_arn

    def _authorization(self, config: DeploymentConfig) -> apigw.MethodOptions:
        auth = config.public_auth
        if auth == "iam":
            return apigw.MethodOptions(authorization_type=apigw.AuthorizationType.IAM)
        if auth == "cognito":
            pool = cognito.UserPool.from_user_pool_arn(
                self, "UserPool", config.cognito_user_pool_arn
            )
            authorizer: apigw.IAuthorizer = apigw.CognitoUserPoolsAuthorizer(
                self, "Authorizer", cognito_user_pools=[pool]
            )
            return apigw.MethodOptions(
                authorization_type=apigw.AuthorizationType.COGNITO, authorizer=authorizer
            )
        if auth == "lambda":
            function = lambda_.Function.from_function_arn(
                self, "AuthorizerFunction", config.authorizer_function_arn
            )
            authorizer = apigw.TokenAuthorizer(self, "Authorizer", handler=function)
            return apigw.MethodOptions(
                authorization_type=apigw.AuthorizationType.CUSTOM, authorizer=authorizer
            )
        return apigw.MethodOptions(authorization_type=apigw.AuthorizationType.NONE)

    def _grant_existing(self, config: DeploymentConfig, alias: lambda_.Alias) -> None:
        stack = Stack.of(self)
        # API Gateway's metrics name a REST API by its name, which the context does not hold:
        # read at deploy (GET of that one API only).
        api_id = config.existing_public_api_id
        lookup = cr.AwsCustomResource(
            self,
            "ExistingApiName",
            on_update=cr.AwsSdkCall(
                service="APIGateway",
                action="getRestApi",
                parameters={"restApiId": api_id},
                physical_resource_id=cr.PhysicalResourceId.of(f"rest-api-name-{api_id}"),
                output_paths=["name"],
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["apigateway:GET"],
                        resources=[
                            f"arn:{stack.partition}:apigateway:{stack.region}::/restapis/{api_id}"
                        ],
                    )
                ]
            ),
            install_latest_aws_sdk=False,
        )
        self.requests, self.server_errors = _metrics(
            {
                "ApiName": lookup.get_response_field("name"),
                "Stage": config.existing_public_api_stage,
            }
        )
        for number, path in enumerate(config.existing_public_api_paths, start=1):
            alias.add_permission(
                f"ExistingPublicApi{number}",
                principal=iam.ServicePrincipal("apigateway.amazonaws.com"),
                action="lambda:InvokeFunction",
                source_arn=stack.format_arn(
                    service="execute-api",
                    resource=config.existing_public_api_id,
                    resource_name=(f"{config.existing_public_api_stage}/*{source_arn_path(path)}"),
                ),
            )
