"""What differs between deployments: the facts the constructs build from.

``query_infra.context.read_context`` makes a :class:`DeploymentConfig` from the CDK context and
validates every key; the constructs take the config as an argument and never read the context.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "DEFAULT_PUBLIC_API_PATHS",
    "ENDPOINT_SERVICES",
    "REPO_ROOT",
    "DeploymentConfig",
    "ImageBuilder",
    "PublicAuth",
    "ResultSource",
]

#: The repository root: the assets (Lambda package, image context) are under dist/.
REPO_ROOT = Path(__file__).resolve().parents[3]

type PublicAuth = Literal["iam", "cognito", "lambda", "none"]
type ResultSource = Literal["internal_api", "lambda"]
type ImageBuilder = Literal["codebuild", "local-docker"]

#: The VPC endpoints the private subnets may need (``existingVpcEndpoints`` names a subset):
#: execute-api (the private API), ECR and S3 (image pulls), Logs (the tasks' log driver),
#: lambda (only for the ``RESULT_SOURCE=lambda`` rollback source), secretsmanager (the
#: caller proof keys: the tasks' secret and the Query Lambda's read).
ENDPOINT_SERVICES = (
    "execute-api",
    "ecr.api",
    "ecr.dkr",
    "logs",
    "s3",
    "lambda",
    "secretsmanager",
)

#: The paths an existing public API proxies to the Query Lambda (docs/contract.md#public-api);
#: query-migrate's attach repoints the same ones (pinned by tests/test_app.py).
DEFAULT_PUBLIC_API_PATHS = ("/query/result", "/query/marketing", "/query/marketing/{proxy+}")


@dataclass(frozen=True)
class DeploymentConfig:
    """The deployment's facts; docs/migration.md describes each context key."""

    environment: str = "dev"
    #: Optional account and region; without them the stack is environment-agnostic.
    account: str = ""
    region: str = ""
    #: An existing VPC (the running account's) with its private subnets, route tables and AZs.
    vpc_id: str = ""
    private_subnet_ids: tuple[str, ...] = ()
    private_route_table_ids: tuple[str, ...] = ()
    availability_zones: tuple[str, ...] = ()
    #: The CIDR of the VPC: of the new one, or the existing VPC's primary block.
    vpc_cidr: str = "10.40.0.0/16"
    #: The existing VPC's other CIDR blocks (secondary associations): its endpoints admit them too.
    vpc_secondary_cidrs: tuple[str, ...] = ()
    #: Endpoints the existing VPC already has: the stack creates only the others.
    existing_vpc_endpoints: frozenset[str] = frozenset()
    #: The security groups (sg-…) or prefix lists (pl-…) of the interface endpoints the VPC
    #: already has: the tasks' only egress to them (required when any is reused).
    existing_endpoint_peers: tuple[str, ...] = ()
    #: Private DNS on the stack's execute-api endpoint (default: on in a new VPC only).
    execute_api_private_dns: bool = True
    #: Who may use the endpoints the stack creates for the whole VPC (default: the VPC CIDR).
    endpoint_ingress_cidrs: tuple[str, ...] = ()
    #: The existing production table, imported by name; empty: the stack creates one.
    existing_table_name: str = ""
    #: Where the Query Lambda's new version sends traffic: the ECS ALB, or the old EKS URL.
    traffic_target: Literal["ecs", "eks"] = "ecs"
    old_eks_handler_url: str = ""
    #: How the Query Lambda reaches the old handler (sg-…, a CIDR or pl-…) and on which port;
    #: while set, its security group allows exactly that egress (rollback target).
    old_eks_handler_peer: str = ""
    old_eks_handler_port: int = 0
    #: The running account's public REST API: kept, granted to invoke alias ``live``.
    existing_public_api_id: str = ""
    existing_public_api_stage: str = "prod"
    existing_public_api_paths: tuple[str, ...] = DEFAULT_PUBLIC_API_PATHS
    #: The authorizer of the public API the stack creates (``none`` only when chosen).
    public_auth: PublicAuth = "iam"
    cognito_user_pool_arn: str = ""
    authorizer_function_arn: str = ""
    #: The authorizer field that carries the caller's user id (OWNER_CLAIM); empty: the Query
    #: Lambda's default for the authorizer type (Cognito "sub", Lambda "principalId", IAM "caller").
    owner_claim: str = ""
    #: ``ownerCheck=false`` (existing-API mode only): no owner check, every caller of the
    #: existing API reads any user's results; warned at synth and output as ``OwnerCheck``.
    owner_check_disabled: bool = False
    #: ``callerProofRequired=false``: the service trusts ``X-Caller-Id`` from any peer in the
    #: Query Lambda's security group (``CALLER_PROOF_REQUIRED=false``); warned at synth.
    caller_proof_required: bool = True
    #: The test identity of the canary's check (a user_id whose results exist, sent as the
    #: caller too): CodeDeploy's hooks check each new version with it before traffic moves.
    canary_test_user_id: str = ""
    #: Per-caller limit of the public API (requests per 5 minutes, AWS WAF rate-based rule on
    #: its stage, created or existing; 0: none) and what names a caller: ``ip`` or
    #: ``header:<Name>`` (e.g. ``header:Authorization``).
    caller_rate_limit: int = 1000
    caller_rate_limit_key: str = "ip"
    #: Stage throttling of the public API, and reserved concurrency of each Lambda.
    throttle_rate_limit: float = 50.0
    throttle_burst_limit: int = 100
    reserved_concurrency: int = 50
    #: An ACM certificate for the ALB listener (HTTPS); empty: HTTP inside the VPC. With it,
    #: the Query Lambda calls ``alb_host_name`` (a name the certificate covers), which the
    #: stack points at the ALB in the private hosted zone ``alb_hosted_zone_id``.
    alb_certificate_arn: str = ""
    alb_host_name: str = ""
    alb_hosted_zone_id: str = ""
    #: An image tag already pushed to the stack's ECR repository; empty: build the image
    #: (apps/ecs_service/Dockerfile, context dist/image) as ``image_build`` says.
    image_tag: str = ""
    #: Who builds the image: ``codebuild`` (during the deploy, in the account: no Docker on
    #: the operator's machine) or ``local-docker`` (the CDK CLI, with the machine's Docker).
    image_build: ImageBuilder = "codebuild"
    task_cpu: int = 512
    task_memory_mib: int = 1024
    desired_count: int = 2
    max_count: int = 6
    #: Grant the task role lambda:InvokeFunction for RESULT_SOURCE=lambda (rollback).
    enable_lambda_rollback_source: bool = False
    #: The service's RESULT_SOURCE: ``lambda`` rolls back only the internal hop (needs the above).
    result_source: ResultSource = "internal_api"
    lambda_package: Path = REPO_ROOT / "dist" / "lambda" / "package"
    image_context: Path = REPO_ROOT / "dist" / "image"

    @property
    def imported_vpc(self) -> bool:
        return bool(self.vpc_id)

    @property
    def creates_public_api(self) -> bool:
        return not self.existing_public_api_id

    @property
    def ingress_cidrs(self) -> tuple[str, ...]:
        """Who may use the shared endpoints: the context's CIDRs, else every block of the VPC."""
        return self.endpoint_ingress_cidrs or (self.vpc_cidr, *self.vpc_secondary_cidrs)

    @property
    def owner_check(self) -> bool:
        """The service checks ownership when the API it serves authenticates callers."""
        if self.creates_public_api:
            return self.public_auth != "none"
        return bool(self.owner_claim)
