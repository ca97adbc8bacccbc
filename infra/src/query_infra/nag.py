"""Every cdk-nag (AwsSolutions pack, cdk-nag 3) finding this design accepts, with its reason.

The constructs call the function named after what they built; the reasons live here, in one
place, so that a reviewer reads every accepted finding on one page. ``ACKNOWLEDGED`` collects
(construct path, rule, reason) as they are applied; the infra tests check that each has a reason.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import Construct

__all__ = [
    "ACKNOWLEDGED",
    "access_log_bucket",
    "alb_without_access_logs",
    "canary",
    "private_api",
    "public_api",
    "python_function",
    "task_definition",
    "vpc_lambda_role",
]

ACKNOWLEDGED: list[tuple[str, str, str]] = []

_RUNTIME = (
    "Python 3.12 is the project's target runtime (docs/contract.md#overview; the ECS image "
    "matches); moving to a newer runtime is its own change"
)
_CLOUDWATCH_ROLE = (
    "API Gateway's account-level CloudWatch role uses AWS's documented "
    "AmazonAPIGatewayPushToCloudWatchLogs policy"
)


def _acknowledge(construct: Construct, rule: str, reason: str, finding: str = "") -> None:
    """One accepted finding; ``finding`` narrows a granular rule, e.g. ``Resource::*``."""
    rule_id = f"{rule}[{finding}]" if finding else rule
    Validations.of(construct).acknowledge(
        Acknowledgment(id=f"AwsSolutions::AwsSolutions-{rule_id}", reason=reason)
    )
    ACKNOWLEDGED.append((construct.node.path, rule_id, reason))


def _managed_policy(name: str) -> str:
    """The cdk-nag finding of an AWS managed policy (service-role/...)."""
    return f"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{name}"


def python_function(function: Construct) -> None:
    _acknowledge(function, "L1", _RUNTIME)


def vpc_lambda_role(role: Construct) -> None:
    _acknowledge(
        role,
        "IAM4",
        "a Lambda in a VPC needs AWSLambdaVPCAccessExecutionRole to manage its network interfaces",
        _managed_policy("AWSLambdaVPCAccessExecutionRole"),
    )


def private_api(api: Construct) -> None:
    _acknowledge(
        api,
        "APIG2",
        "the Query Result Lambda validates bodies itself and answers the contract's "
        "FastAPI-shaped 400/422; API Gateway's validator would not",
    )
    _acknowledge(
        api,
        "APIG3",
        "private API: reachable only through the VPC endpoint named in its resource policy, "
        "and every call is SigV4-signed (IAM auth)",
    )
    _acknowledge(
        api,
        "COG4",
        "the caller is a service (the ECS task role): IAM (SigV4) authorization, "
        "not a Cognito user pool",
    )
    _acknowledge(
        api, "IAM4", _CLOUDWATCH_ROLE, _managed_policy("AmazonAPIGatewayPushToCloudWatchLogs")
    )


def public_api(api: Construct) -> None:
    unchanged = (
        "the public API keeps its pre-migration contract: for its clients nothing changes, "
        "so no new authorizer"
    )
    _acknowledge(api, "APIG4", unchanged)
    _acknowledge(api, "COG4", unchanged)
    _acknowledge(
        api,
        "APIG2",
        "the service validates bodies and answers the contract's FastAPI-shaped "
        "400/413/415/422; API Gateway's validator would not",
    )
    _acknowledge(
        api,
        "APIG3",
        "a WAF web ACL on the public API is an edge decision of its own, "
        "unchanged by this migration",
    )
    _acknowledge(
        api, "IAM4", _CLOUDWATCH_ROLE, _managed_policy("AmazonAPIGatewayPushToCloudWatchLogs")
    )


def task_definition(task: Construct) -> None:
    _acknowledge(
        task,
        "ECS2",
        "the environment holds configuration only (URLs, modes); the service has no secrets: "
        "it authenticates with its task role",
    )
    _acknowledge(
        task,
        "IAM5",
        "the execution role's ecr:GetAuthorizationToken only exists on resource *, "
        "as CDK grants it for ECR image pulls",
        "Resource::*",
    )


def access_log_bucket(bucket: Construct) -> None:
    _acknowledge(
        bucket,
        "S1",
        "this bucket receives the ALB's access logs; logging access to the log bucket "
        "itself would recurse",
    )


def alb_without_access_logs(alb: Construct) -> None:
    _acknowledge(
        alb,
        "ELB2",
        "ALB access logs need the region at synth time; they are on when the app is "
        "synthesized with context region",
    )


def canary(deployment_group: Construct) -> None:
    _acknowledge(
        deployment_group,
        "IAM4",
        "CodeDeploy's Lambda deployments use AWS's documented "
        "AWSCodeDeployRoleForLambdaLimited policy",
        _managed_policy("AWSCodeDeployRoleForLambdaLimited"),
    )
