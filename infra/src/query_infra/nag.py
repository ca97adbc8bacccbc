"""Every cdk-nag (AwsSolutions pack, cdk-nag 3) finding this design accepts, with its reason.

``ACCEPTED`` is the table: for each kind of construct, the findings accepted on it and why,
so that a reviewer reads every accepted finding on one page. The constructs call the function
named after what they built, which acknowledges that kind's rows on it and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

__all__ = [
    "ACCEPTED",
    "CANARY_CHECK_FUNCTION",
    "IMAGE_BUILD_FUNCTIONS",
    "Accepted",
    "access_log_bucket",
    "alb_without_access_logs",
    "api_gateway_account",
    "canary",
    "image_build_project",
    "image_build_provider",
    "image_build_role",
    "prefix_list_lookup",
    "private_api",
    "public_api",
    "python_function",
    "task_definition",
    "token_secret",
    "vpc_lambda_role",
]


@dataclass(frozen=True)
class Accepted:
    """One accepted finding: the rule, the granular finding it narrows to (if any), why."""

    rule: str
    reason: str
    finding: str = ""

    @property
    def rule_id(self) -> str:
        """cdk-nag's id of the finding, e.g. ``IAM5[Resource::*]``."""
        return f"{self.rule}[{self.finding}]" if self.finding else self.rule

    @property
    def validation_id(self) -> str:
        """The id ``Validations.acknowledge`` takes."""
        return f"AwsSolutions::AwsSolutions-{self.rule_id}"


#: The logical id of the canary check's function (construct path Edge/Check/Hook/Function).
CANARY_CHECK_FUNCTION: Final = "EdgeCheckHookFunctionE8C01C40"

#: The logical ids of the functions the image build's Provider framework invokes: its two
#: handlers (Service/ImageBuild/Start, Poll) and its own isComplete and onTimeout functions.
IMAGE_BUILD_FUNCTIONS: Final = (
    "ServiceImageBuildStartFunctionEFFEEFFF",
    "ServiceImageBuildPollFunctionD92A7FB7",
    "ServiceImageBuildProviderframeworkisCompleteA7AED4C4",
    "ServiceImageBuildProviderframeworkonTimeout6F5C58DC",
)

#: The id of the singleton function CDK's AwsCustomResource puts at the stack's root.
_CUSTOM_RESOURCE_PROVIDER = "AWS679f53fac002430cb0da5b7982bd2287"


def _managed_policy(name: str) -> str:
    """The cdk-nag finding of an AWS managed policy (service-role/...)."""
    return f"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{name}"


_PUBLIC_AUTH_NONE = (
    "publicAuth=none was chosen explicitly in the context: the synth output, the "
    "PublicApiAuth output and docs/security.md name this API as unauthenticated"
)

#: Kind of construct -> the findings accepted on it. ``public_api/<auth>`` rows apply to the
#: public API on top of ``public_api``'s, for the context's ``publicAuth``.
ACCEPTED: Final[Mapping[str, tuple[Accepted, ...]]] = MappingProxyType(
    {
        "python_function": (
            Accepted(
                "L1",
                "Python 3.12 is the project's target runtime (docs/contract.md#overview; the ECS "
                "image matches); moving to a newer runtime is its own change",
            ),
        ),
        "vpc_lambda_role": (
            Accepted(
                "IAM4",
                "a Lambda in a VPC needs AWSLambdaVPCAccessExecutionRole to manage its network "
                "interfaces",
                _managed_policy("AWSLambdaVPCAccessExecutionRole"),
            ),
        ),
        "private_api": (
            Accepted(
                "APIG2",
                "the Query Result Lambda validates bodies itself and answers the contract's "
                "FastAPI-shaped 400/422; API Gateway's validator would not",
            ),
            Accepted(
                "APIG3",
                "private API: reachable only through the VPC endpoint named in its resource "
                "policy, and every call is SigV4-signed (IAM auth)",
            ),
            Accepted(
                "COG4",
                "the caller is a service (the ECS task role): IAM (SigV4) authorization, "
                "not a Cognito user pool",
            ),
        ),
        "api_gateway_account": (
            Accepted(
                "IAM4",
                "API Gateway's account-level CloudWatch role uses AWS's documented "
                "AmazonAPIGatewayPushToCloudWatchLogs policy",
                _managed_policy("AmazonAPIGatewayPushToCloudWatchLogs"),
            ),
        ),
        "public_api": (
            Accepted(
                "APIG2",
                "the service validates bodies and answers the contract's FastAPI-shaped "
                "400/413/415/422; API Gateway's validator would not",
            ),
            Accepted(
                "APIG3",
                "a WAF web ACL is the account owner's edge decision (docs/security.md); stage "
                "throttling and reserved concurrency bound the load meanwhile",
            ),
        ),
        "public_api/none": (
            Accepted("APIG4", _PUBLIC_AUTH_NONE),
            Accepted("COG4", _PUBLIC_AUTH_NONE),
        ),
        "public_api/iam": (
            Accepted(
                "COG4",
                "callers authenticate with IAM (SigV4) as the context's publicAuth chooses; "
                "a Cognito user pool is the other option",
            ),
        ),
        "public_api/lambda": (
            Accepted(
                "COG4",
                "callers authenticate with a Lambda authorizer as the context's publicAuth "
                "chooses; a Cognito user pool is the other option",
            ),
        ),
        "public_api/cognito": (),
        "task_definition": (
            Accepted(
                "ECS2",
                "the environment holds configuration only (URLs, modes); the service has no "
                "secrets: it authenticates with its task role",
            ),
            Accepted(
                "IAM5",
                "the execution role's ecr:GetAuthorizationToken only exists on resource *, "
                "as CDK grants it for ECR image pulls",
                "Resource::*",
            ),
        ),
        "access_log_bucket": (
            Accepted(
                "S1",
                "this bucket receives the ALB's access logs; logging access to the log bucket "
                "itself would recurse",
            ),
        ),
        "alb_without_access_logs": (
            Accepted(
                "ELB2",
                "ALB access logs need the region at synth time; they are on when the app is "
                "synthesized with context region",
            ),
        ),
        "prefix_list_lookup": (
            Accepted(
                "IAM5",
                "ec2:DescribeManagedPrefixLists has no resource-level permissions: it exists "
                "only on resource *, and it only reads the names of AWS prefix lists",
                "Resource::*",
            ),
        ),
        "prefix_list_provider": (
            Accepted(
                "IAM4",
                "CDK's AwsCustomResource provider writes its own logs with AWS's documented "
                "AWSLambdaBasicExecutionRole policy",
                _managed_policy("AWSLambdaBasicExecutionRole"),
            ),
        ),
        "token_secret": (
            Accepted(
                "SMG4",
                "the next_token keys rotate by the documented two-step procedure "
                "(docs/security.md): the old current key becomes previous, so tokens in "
                "flight stay valid once",
            ),
        ),
        "caller_proof_secret": (
            Accepted(
                "SMG4",
                "the caller proof keys rotate by the documented procedure (docs/runbook.md): "
                "the new key is added beside the old one, so both sides stay in step",
            ),
        ),
        "canary": (
            Accepted(
                "IAM4",
                "CodeDeploy's Lambda deployments use AWS's documented "
                "AWSCodeDeployRoleForLambdaLimited policy",
                _managed_policy("AWSCodeDeployRoleForLambdaLimited"),
            ),
            Accepted(
                "IAM5",
                "LambdaDeploymentGroup lets CodeDeploy's role invoke its hook, the canary check "
                "(Edge/Check/Hook), and that function's versions and aliases (<arn>:*); the hook "
                "publishes none, so it is that one function",
                f"Resource::<{CANARY_CHECK_FUNCTION}.Arn>:*",
            ),
        ),
        "image_build_project": (
            Accepted(
                "CB4",
                "the build keeps no artifacts: its one output is the image, encrypted at rest "
                "by ECR (AES-256), and its log, in a CloudWatch log group",
            ),
        ),
        "image_build_role": (
            Accepted(
                "IAM5",
                "ecr:GetAuthorizationToken (docker login before the push) only exists on "
                "resource *, as CDK grants it",
                "Resource::*",
            ),
        ),
        "image_build_provider": (
            Accepted(
                "IAM4",
                "CDK's Provider framework functions write their logs with AWS's documented "
                "AWSLambdaBasicExecutionRole policy",
                _managed_policy("AWSLambdaBasicExecutionRole"),
            ),
            Accepted(
                "SF1",
                "the waiter only calls the isComplete handler every 30 s, which logs each poll "
                "to its own log group, and a failure's reason reaches CloudFormation; logging "
                "the waiter would grant it log delivery actions on resource *",
            ),
            Accepted(
                "SF2",
                "CDK's Provider framework offers no tracing for its waiter, which runs one "
                "poll loop per image build",
            ),
            *(
                Accepted(
                    "IAM5",
                    "CDK's Provider framework lets its roles invoke the functions it runs and "
                    "their versions (<arn>:*): the image build's handlers and its own, none "
                    "of which publishes versions",
                    f"Resource::<{function}.Arn>:*",
                )
                for function in IMAGE_BUILD_FUNCTIONS
            ),
        ),
    }
)


def _acknowledge(construct: IConstruct, kind: str) -> None:
    """Acknowledge on ``construct`` the findings ``ACCEPTED`` lists for ``kind``."""
    for row in ACCEPTED[kind]:
        Validations.of(construct).acknowledge(
            Acknowledgment(id=row.validation_id, reason=row.reason)
        )


def _acknowledger(kind: str) -> Callable[[IConstruct], None]:
    def acknowledge(construct: IConstruct) -> None:
        _acknowledge(construct, kind)

    acknowledge.__name__ = acknowledge.__qualname__ = kind
    return acknowledge


python_function = _acknowledger("python_function")
vpc_lambda_role = _acknowledger("vpc_lambda_role")
private_api = _acknowledger("private_api")
api_gateway_account = _acknowledger("api_gateway_account")
task_definition = _acknowledger("task_definition")
access_log_bucket = _acknowledger("access_log_bucket")
alb_without_access_logs = _acknowledger("alb_without_access_logs")
token_secret = _acknowledger("token_secret")
caller_proof_secret = _acknowledger("caller_proof_secret")
canary = _acknowledger("canary")

image_build_project = _acknowledger("image_build_project")
image_build_role = _acknowledger("image_build_role")
image_build_provider = _acknowledger("image_build_provider")


def public_api(api: IConstruct, auth: str) -> None:
    """The public API the stack creates, its callers authenticated per context ``publicAuth``."""
    _acknowledge(api, "public_api")
    _acknowledge(api, f"public_api/{auth}")


def prefix_list_lookup(lookup: IConstruct) -> None:
    """The AwsCustomResource that reads S3's prefix list id, and CDK's provider function."""
    _acknowledge(lookup, "prefix_list_lookup")
    provider = Stack.of(lookup).node.try_find_child(_CUSTOM_RESOURCE_PROVIDER)
    if provider is not None:
        _acknowledge(provider, "prefix_list_provider")
