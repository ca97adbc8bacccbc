"""The service's Fargate task: image, environment, logs, and the rollback source's grant."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from query_infra import nag
from query_infra.common import CONTAINER_PORT, log_group
from query_infra.config import DeploymentConfig
from query_infra.internal_api import InternalApi

__all__ = ["ServiceTask"]


class ServiceTask(Construct):
    """The task definition of apps/ecs_service running ``image`` (``Service`` chooses it);
    settings per docs/contract.md#configuration.

    Attributes: ``definition``, ``log_group``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        internal_api: InternalApi,
        task_role: iam.IRole,
        image: ecs.ContainerImage,
        caller_proof_keys: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self.definition = ecs.FargateTaskDefinition(
            self,
            "Definition",
            task_role=task_role,
            cpu=config.task_cpu,
            memory_limit_mib=config.task_memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        environment = {
            "ENVIRONMENT": "production",
            "INTERNAL_API_URL": internal_api.url,
            "INTERNAL_API_AUTH": "iam",
            "RESULT_SOURCE": config.result_source,
            "HOST": "0.0.0.0",  # noqa: S104 - inside the task; the ALB is the only way in
            "PORT": str(CONTAINER_PORT),
            "AWS_REGION": Stack.of(self).region,
            "LOG_LEVEL": "INFO",
            "OWNER_CHECK": "true" if config.owner_check else "false",
        }
        if not config.caller_proof_required:
            environment["CALLER_PROOF_REQUIRED"] = "false"
        query_result = internal_api.function.function
        if config.enable_lambda_rollback_source:
            # The rollback source invokes the unqualified function, as invoke_lambda did.
            environment["QUERY_RESULT_LAMBDA_NAME"] = query_result.function_name
            task_role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"], resources=[query_result.function_arn]
                )
            )
        self.log_group = log_group(self, "Logs")
        self.definition.add_container(
            "service",
            image=image,
            port_mappings=[ecs.PortMapping(container_port=CONTAINER_PORT)],
            environment=environment,
            # The execution role reads it when a task starts (docs/contract.md#caller-proof).
            secrets={"CALLER_PROOF_KEYS": ecs.Secret.from_secrets_manager(caller_proof_keys)},
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="query-service", log_group=self.log_group
            ),
            stop_timeout=Duration.seconds(30),
            readonly_root_filesystem=True,
        )
        nag.task_definition(self.definition)
