"""The canary's check: the Lambda CodeDeploy runs before any traffic moves to a new version
of alias ``live`` (``BeforeAllowTraffic``) and after all of it has (``AfterAllowTraffic``).

It invokes that version (and only it: its qualified ARN) with the context's test identity
(``canaryTestUserId``) and reports the verdict for its deployment group; ``Failed`` stops the
deployment (docs/decisions/0012-canary-check-hook.md; the code: ``lambdas.canary_check``).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from query_infra.config import DeploymentConfig
from query_infra.functions import PythonFunction

__all__ = ["CanaryCheck"]


class CanaryCheck(Construct):
    """The hook function for ``version`` (the one CloudFormation just published).

    Outside the VPC: it needs only the Lambda and CodeDeploy APIs; the version it invokes runs
    in the VPC, so the checked path starts there. Its role may write its logs and invoke that
    version; ``LambdaDeploymentGroup`` adds the hook status for its own group.
    Attributes: ``function`` (the ``lambda_.Function``), ``log_group`` (its verdicts).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        version: lambda_.IVersion,
        public_api_id: str,
    ) -> None:
        super().__init__(scope, construct_id)
        environment = {
            "TARGET_VERSION_ARN": version.function_arn,
            "TEST_USER_ID": config.canary_test_user_id,
            # The service answers 410 there; the old EKS handler still serves it.
            "EXPECT_MARKETING_GONE": str(config.traffic_target == "ecs").lower(),
        }
        if config.owner_claim:
            environment["OWNER_CLAIM"] = config.owner_claim
        # The Query Lambda takes only its public API's events (docs/contract.md#side-doors).
        environment["PUBLIC_API_ID"] = public_api_id
        hook = PythonFunction(
            self,
            "Hook",
            package=config.lambda_package,
            handler="lambdas.canary_check.handler.handler",
            memory_size=256,
            # two pages and the retired path, each within the Query Lambda's 28 s
            timeout=Duration.minutes(2),
            environment=environment,
            description="CodeDeploy hook: checks the new Query Lambda version with the test user",
        )
        hook.role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[version.function_arn])
        )
        self.function, self.log_group = hook.function, hook.log_group
