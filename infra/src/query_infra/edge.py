"""The public edge: the Query Lambda, its alias ``live`` shifted by a CodeDeploy canary, and
the public API in front of it."""

from __future__ import annotations

from aws_cdk import Annotations, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from query_infra import rules
from query_infra.canary import Canary
from query_infra.canary_check import CanaryCheck
from query_infra.common import ApiGatewayAccount
from query_infra.config import DeploymentConfig
from query_infra.functions import PythonFunction
from query_infra.network import Network
from query_infra.public_api import PublicApi
from query_infra.service import Service

__all__ = ["Edge", "eks_peer"]


def eks_peer(peer: str) -> ec2.IPeer:
    """The old EKS handler as a peer: a security group, a prefix list or a CIDR."""
    if peer.startswith("sg-"):
        return ec2.Peer.security_group_id(peer)
    if peer.startswith("pl-"):
        return ec2.Peer.prefix_list(peer)
    return ec2.Peer.ipv4(peer)


class Edge(Construct):
    """The Query Lambda forwards the public API's requests to ``EKS_HANDLER_URL``: the
    service's ALB (``trafficTarget=ecs``) or the old EKS handler (``eks``). While
    ``oldEksHandlerPeer`` is set, its security group may also reach the old handler, so that
    the EKS version (and a canary's rollback to it) can answer; the clean-up removes the key.
    Meanwhile every version knows both sides, and a page goes to the side that issued its
    ``next_token`` (``SERVICE_URL``, ``OLD_EKS_HANDLER_URL``; decision 11).

    Each deploy publishes a version; CodeDeploy moves alias ``live`` to it, 10 % for
    5 minutes, then all of it, and rolls back when one of the canary's alarms fires: error
    rates of that version and of the ALB, the same in both public API modes
    (``query_infra.canary``). With ``canaryTestUserId``, CodeDeploy's hooks check each new
    version with that test identity before any traffic moves (``query_infra.canary_check``).
    Attributes: ``function``, ``alias``, ``security_group``, ``public``, ``check`` (or None),
    ``canary``, ``deployment_group``, ``alarms`` (the canary's), ``watches``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        network: Network,
        service: Service,
        account: ApiGatewayAccount,
        caller_proof_keys: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self.security_group = ec2.SecurityGroup(
            self,
            "QueryLambdaSg",
            vpc=network.vpc,
            allow_all_outbound=False,
            description="Query Lambda: calls the internal ALB (and the old EKS handler if named)",
        )
        service.admit(self.security_group)
        network.admit(self.security_group)  # Secrets Manager's endpoint: the caller proof keys
        if config.old_eks_handler_peer:
            self.security_group.add_egress_rule(
                eks_peer(config.old_eks_handler_peer),
                ec2.Port.tcp(rules.eks_port(config)),
                "to the old EKS handler while it is the target or a rollback target",
            )
        url = config.old_eks_handler_url if config.traffic_target == "eks" else service.url
        environment = {"EKS_HANDLER_URL": url, "FORWARD_TIMEOUT_SECONDS": "25"}
        if config.old_eks_handler_url and config.old_eks_handler_peer:
            # Both sides serve: a page follows the side that issued its next_token (decision 11).
            environment |= {
                "SERVICE_URL": service.url,
                "OLD_EKS_HANDLER_URL": config.old_eks_handler_url,
            }
        if config.owner_claim:
            environment["OWNER_CLAIM"] = config.owner_claim
        environment["CALLER_PROOF_SECRET_ARN"] = caller_proof_keys.secret_arn
        self.function = PythonFunction(
            self,
            "Query",
            package=config.lambda_package,
            handler="lambdas.query.handler.handler",
            memory_size=256,
            timeout=Duration.seconds(28),
            environment=environment,
            description=f"Query Lambda: forwards to the query service ({config.traffic_target})",
            reserved_concurrency=config.reserved_concurrency,
            vpc=network.vpc,
            subnets=network.subnets,
            security_groups=[self.security_group],
        )
        # It reads the caller proof keys (at init, then on a TTL), and nothing else of the store.
        self.function.role.add_to_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"], resources=[caller_proof_keys.secret_arn]
            )
        )
        self.alias = lambda_.Alias(
            self, "Live", alias_name="live", version=self.function.function.current_version
        )
        self.public = PublicApi(self, "Public", config=config, alias=self.alias, account=account)
        # Only the public API's events (docs/contract.md#side-doors); the check sends its id.
        self.function.function.add_environment("PUBLIC_API_ID", self.public.api_id)
        self.check: CanaryCheck | None = None
        if config.canary_test_user_id:
            self.check = CanaryCheck(
                self,
                "Check",
                config=config,
                version=self.alias.version,
                public_api_id=self.public.api_id,
            )
            # the check, its role and its policy are in place before the alias moves
            self.alias.node.add_dependency(self.check)
        else:
            Annotations.of(self).add_warning_v2(
                "query:canary-unchecked",
                "canaryTestUserId is not set: CodeDeploy moves traffic to each new Query Lambda "
                "version without checking it first (docs/runbook.md#the-test-identity)",
            )
        self.canary = Canary(
            self,
            "Rollback",
            function=self.function.function,
            log_group=self.function.log_group,
            alias=self.alias,
            namespace=f"QueryService/{config.environment}",
            alb=service.alb,
            target_group=service.target_group,
            public_api=(self.public.requests, self.public.server_errors),
            check=None if self.check is None else self.check.function,
        )
        self.alarms = self.canary.alarms
        self.deployment_group = self.canary.deployment_group
        self.watches = self.function.watches("Query")
