"""The names ``query-migrate`` shares with the CDK app: stack output ids and default paths.

The CDK app (``infra/``) and this tool never import each other, so each defines these names;
``infra/tests/test_app.py`` reads this file as data and checks every name against the
synthesized stack, so a rename on one side fails CI (decision 7).
"""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_PUBLIC_API_PATHS", "STACK_OUTPUTS"]

#: Stack output id -> (the option that gives the same value by hand, or None; what it is).
STACK_OUTPUTS: Final[dict[str, tuple[str | None, str]]] = {
    "QueryLambdaAliasArn": ("--alias-arn", "ARN of the Query Lambda's alias live"),
    "QueryLambdaFunctionName": ("--query-lambda", "name of the (new) Query Lambda function"),
    "QueryResultFunctionName": (
        "--query-result-lambda",
        "name of the Query Result Lambda function",
    ),
    "InternalApiUrl": ("--internal-api-url", "base URL of the private API, stage included"),
    "ServiceUrl": ("--service-url", "base URL of the ECS service (the internal ALB)"),
    "PublicApiUrl": ("--public-url", "base URL of the public API, stage included"),
    "PublicApiAuth": (None, "how the public API authorizes: iam or none"),
    "ResultsTableName": ("--table", "DynamoDB results table"),
    "EcsClusterName": ("--cluster", "ECS cluster"),
    "EcsServiceName": ("--ecs-service", "ECS service"),
    "TargetGroupArn": ("--target-group-arn", "the ALB target group of the ECS service"),
    "CodeDeployApplicationName": ("--codedeploy-app", "CodeDeploy application of the Query Lambda"),
    "CodeDeployDeploymentGroupName": ("--deployment-group", "its deployment group"),
    "AlarmNames": ("--alarms", "alarm names, comma-separated"),
    "LogGroupNames": ("--log-groups", "log groups, hop=name comma-separated"),
    "QueryLambdaSecurityGroupId": ("--query-lambda-sg", "the Query Lambda's security group"),
    "VpcId": ("--vpc-id", "the VPC the stack is deployed in"),
}

#: The resource paths an existing public API proxies, unless the context says otherwise.
DEFAULT_PUBLIC_API_PATHS: Final = ("/query/result", "/query/marketing", "/query/marketing/{proxy+}")
