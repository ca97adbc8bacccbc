"""Every cdk-nag (AwsSolutions pack, cdk-nag 3) finding this design accepts, with its reason.

The constructs call the function named after what they built; the reasons live here, in one
place, so that a reviewer reads every accepted finding on one page. ``ACKNOWLEDGED`` collects
(construct path, rule, reason) as they are applied; the infra tests check that each has a reason.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import Construct, IConstruct

__all__ = [
    "ACKNOWLEDGED",
    "access_log_bucket",
    "alb_without_access_logs",
    "api_gateway_account",
    "canary",
    "prefix_list_lookup",
    "private_api",
    "public_api",
    "python_function",
    "task_definition",
    "token_secret",
    "vpc_lambda_role",
]

ACKNOWLEDGED: list[tuple[str, str, str]] = []

#: The id of the singleton function CDK's AwsCustomResource puts at the stack's root.
_CUSTOM_RESOURCE_PROVIDER = "AWS679f53fac002430cb0da5b7982bd2287"

_RUNTIME = (
    "Python 3.12 is the project's target runtime (docs/contract.md#overview; the ECS image "
    "matches); moving to a newer runtime is its own change"
)


def _acknowledge(construct: IConstruct, rule: str, reason: str, finding: str = "") -> None:
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


def api_gateway_account(role: Construct) -> None:
    _acknowledge(
        role,
        "IAM4",
        "API Gateway's account-level CloudWatch role uses AWS's documented "
        "AmazonAPIGatewayPushToCloudWatchLogs policy",
        _managed_policy("AmazonAPIGatewayPushToCloudWatchLogs"),
    )


def public_api(api: Construct, auth: str) -> None:
    """The public API the stack creates, its callers authenticated per context ``publicAuth``."""
    if auth == "none":
        chosen = (
            "publicAuth=none was chosen explicitly in the context: the synth output, the "
            "PublicApiAuth output and docs/security.md name this API as unauthenticated"
        )
        _acknowledge(api, "APIG4", chosen)
        _acknowledge(api, "COG4", chosen)
    elif auth != "cognito":
        _acknowledge(
            api,
            "COG4",
            f"callers authenticate with {'IAM (SigV4)' if auth == 'iam' else 'a Lambda authorizer'}"
            " as the context's publicAuth chooses; a Cognito user pool is the other option",
        )
    _acknowledge(
        api,
        "APIG2",
        "the service validates bodies and answers the contract's FastAPI-shaped "
        "400/413/415/422; API Gateway's validator would not",
    )
    _acknowledge(
        api,
        "APIG3",
        "a WAF web ACL is the account owner's edge decision (docs/security.md); stage "
        "throttling and reserved concurrency bound the load meanwhile",
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


def prefix_list_lookup(lookup: Construct) -> None:
    """The AwsCustomResource that reads S3's prefix list id, and CDK's provider function."""
    _acknowledge(
        lookup,
        "IAM5",
        "ec2:DescribeManagedPrefixLists has no resource-level permissions: it exists only "
        "on resource *, and it only reads the names of AWS prefix lists",
        "Resource::*",
    )
    provider = Stack.of(lookup).node.try_find_child(_CUSTOM_RESOURCE_PROVIDER)
    if provider is not None:
        _acknowledge(
            provider,
            "IAM4",
            "CDK's AwsCustomResource provider writes its own logs with AWS's documented "
            "AWSLambdaBasicExecutionRole policy",
            "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        )


def token_secret(secret: Construct) -> None:
    _acknowledge(
        secret,
        "SMG4",
        "the next_token keys rotate by the documented two-step procedure (docs/security.md): "
        "the old current key becomes previous, so tokens in flight stay valid once",
    )


def canary(deployment_group: Construct) -> None:
    _acknowledge(
        deployment_group,
        "IAM4",
        "CodeDeploy's Lambda deployments use AWS's documented "
        "AWSCodeDeployRoleForLambdaLimited policy",
        _managed_policy("AWSCodeDeployRoleForLambdaLimited"),
    )
