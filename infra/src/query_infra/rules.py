"""The shapes and the cross-key rules of the CDK context (read by ``query_infra.context``)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from query_infra.config import ENDPOINT_SERVICES, DeploymentConfig

__all__ = [
    "API_ID",
    "CLAIM",
    "ENVIRONMENT",
    "HOST",
    "OWNER_CLAIMS",
    "PATTERNS",
    "PEER",
    "cidr_problem",
    "consistency",
    "eks_port",
]

_ARN = r"arn:aws[a-z-]*:"
_REGION = r"[a-z]{2}(-[a-z]+)+-\d"
PATTERNS = {
    "environment": r"[a-z][a-z0-9-]{0,19}",
    "region": _REGION,
    "vpc": r"vpc-[0-9a-f]{8,17}",
    "subnet": r"subnet-[0-9a-f]{8,17}",
    "route_table": r"rtb-[0-9a-f]{8,17}",
    "az": _REGION + r"[a-z]",
    "table": r"[A-Za-z0-9_.-]{3,255}",
    "url": r"https?://[A-Za-z0-9.-]+(:\d{1,5})?/?",
    "peer": r"sg-[0-9a-f]{8,17}|pl-[0-9a-f]{8,17}|[0-9.]+/\d{1,2}",
    "endpoint_peer": r"sg-[0-9a-f]{8,17}|pl-[0-9a-f]{8,17}",
    "api": r"[a-z0-9]{10}",
    "stage": r"[A-Za-z0-9_-]{1,128}",
    "path": r"(/[A-Za-z0-9._-]+|/\{[A-Za-z0-9._-]+\+?\})+",
    "user_pool": _ARN + r"cognito-idp:" + _REGION + r":\d{12}:userpool/" + _REGION + r"_\w+",
    "function": _ARN + r"lambda:" + _REGION + r":\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?",
    "certificate": _ARN + r"acm:" + _REGION + r":\d{12}:certificate/[0-9a-f-]{36}",
    "claim": r"[A-Za-z0-9_:.-]{1,128}",
    "user": r"[A-Za-z0-9_:.@-]{1,128}",
    "tag": r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
    "host": r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
    "zone": r"Z[A-Z0-9]{1,32}",
}
API_ID = "a REST API id (10 lowercase letters and digits, e.g. a1b2c3d4e5)"
ENVIRONMENT = "lowercase letters, digits and '-' (up to 20), starting with a letter"
PEER = "a security group id (sg-…), a prefix list id (pl-…) or an IPv4 CIDR"
CLAIM = "a claim name ([A-Za-z0-9_:.-])"
HOST = "a lowercase DNS name, e.g. query.internal.example.com"
#: The one owner claim per authorizer that its issuer sets and the caller cannot change:
#: Cognito's immutable ``sub``, a Lambda authorizer's ``principalId``, and for IAM the
#: caller's unique id (the Query Lambda keeps ``caller`` up to its colon, not the session name).
OWNER_CLAIMS = {"cognito": "sub", "lambda": "principalId", "iam": "caller"}

#: Fargate's task sizes: CPU units -> (lowest, highest, step) memory in MiB.
_FARGATE = {
    256: (512, 2048, 512),
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
    8192: (16384, 61440, 4096),
    16384: (32768, 122880, 8192),
}


def cidr_problem(value: str) -> str:
    """What is wrong with an IPv4 CIDR meant to admit a part of a network ('' when fine)."""
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return f"{value!r} is not an IPv4 CIDR (e.g. 10.20.0.0/16, host bits zero)"
    if network.prefixlen == 0:
        return f"{value} admits the whole internet; no security group may"
    return ""


def eks_port(config: DeploymentConfig) -> int:
    """The old handler's port: the context's, else the URL's, else its scheme's (0: none)."""
    if config.old_eks_handler_port:
        return config.old_eks_handler_port
    match = re.fullmatch(r"(https?)://[^:/]+(?::(\d+))?/?", config.old_eks_handler_url)
    if not match:
        return 0
    return int(match[2]) if match[2] else {"http": 80, "https": 443}[match[1]]


def consistency(config: DeploymentConfig, given: Callable[[str], bool]) -> list[str]:
    """Mistakes between keys, one line each; ``given(key)`` says whether the context set it."""
    problems: list[str] = []
    for check in (
        _vpc,
        _reused_endpoints,
        _old_handler,
        _public_api,
        _alb_https,
        _sizes_and_assets,
    ):
        check(config, given, problems.append)
    return problems


type _Add = Callable[[str], None]

#: The interface endpoints the tasks call (S3 is a gateway endpoint: its prefix list).
_INTERFACE_ENDPOINTS = frozenset({"ecr.api", "ecr.dkr", "logs", "lambda", "secretsmanager"})


def _reused_endpoints(c: DeploymentConfig, _given: Callable[[str], bool], add: _Add) -> None:
    """The tasks reach the VPC's own interface endpoints only by their groups or prefix lists."""
    reused = sorted(c.existing_vpc_endpoints & _INTERFACE_ENDPOINTS)
    if c.vpc_id and reused and not c.existing_endpoint_peers:
        add(
            f"existingVpcEndpoints reuses {', '.join(reused)}: existingEndpointPeers must name "
            "their security groups (sg-…) or prefix lists (pl-…), the tasks' only egress there"
        )


def _vpc(c: DeploymentConfig, given: Callable[[str], bool], add: _Add) -> None:
    if c.vpc_id:
        subnets = len(c.private_subnet_ids)
        if not subnets:
            add("vpcId needs privateSubnetIds: the private subnets the stack runs in")
        if len(c.private_route_table_ids) != subnets:
            add(
                f"privateRouteTableIds needs one route table per private subnet ({subnets}), "
                f"got {len(c.private_route_table_ids)}"
            )
        if len(c.availability_zones) != subnets:
            add(
                f"availabilityZones needs the zone of each private subnet ({subnets}), "
                f"got {len(c.availability_zones)}"
            )
        if c.region and any(not az.startswith(c.region) for az in c.availability_zones):
            add(f"availabilityZones must be zones of region {c.region}")
        if not given("vpcCidr"):
            add(
                "vpcId needs vpcCidr: every CIDR block of the existing VPC, primary first "
                "(who may use the endpoints the stack creates)"
            )
    else:
        if c.vpc_secondary_cidrs:
            add("vpcCidr takes one CIDR for the VPC the stack creates (a list needs vpcId)")
        for key in (
            "privateSubnetIds",
            "privateRouteTableIds",
            "availabilityZones",
            "existingVpcEndpoints",
        ):
            if given(key):
                add(f"{key} is only read with vpcId (an existing VPC)")
    unknown = sorted(c.existing_vpc_endpoints - set(ENDPOINT_SERVICES))
    if unknown:
        add(
            f"existingVpcEndpoints: unknown {', '.join(unknown)}; "
            f"known: {', '.join(ENDPOINT_SERVICES)}"
        )
    if "execute-api" in c.existing_vpc_endpoints and c.execute_api_private_dns:
        add(
            "executeApiPrivateDns=true with an existing execute-api endpoint: only one "
            "endpoint of a service may have private DNS in a VPC"
        )


def _old_handler(c: DeploymentConfig, given: Callable[[str], bool], add: _Add) -> None:
    """The old EKS handler: reachable exactly while named."""
    if c.traffic_target == "eks" and not c.old_eks_handler_url:
        add("trafficTarget=eks needs oldEksHandlerUrl")
    if (c.traffic_target == "eks" or c.old_eks_handler_url) and not c.old_eks_handler_peer:
        add(
            "oldEksHandlerUrl needs oldEksHandlerPeer (sg-…, a CIDR or pl-…): the Query "
            "Lambda may reach only what the context names"
        )
    if c.old_eks_handler_peer:
        if not eks_port(c):
            add("oldEksHandlerPeer needs oldEksHandlerPort (or oldEksHandlerUrl with its port)")
        if re.fullmatch(r"[0-9./]+", c.old_eks_handler_peer):
            problem = cidr_problem(c.old_eks_handler_peer)
            if problem:
                add(f"oldEksHandlerPeer: {problem}")
    url_port = re.search(r":(\d+)/?$", c.old_eks_handler_url)
    if url_port and c.old_eks_handler_port and int(url_port[1]) != c.old_eks_handler_port:
        add(f"oldEksHandlerPort {c.old_eks_handler_port} differs from oldEksHandlerUrl's port")


def _public_api(c: DeploymentConfig, given: Callable[[str], bool], add: _Add) -> None:
    """The public API: the existing one (kept as it is), or the one the stack creates."""
    if c.existing_public_api_id:
        for key in (
            "publicAuth",
            "cognitoUserPoolArn",
            "authorizerFunctionArn",
            "throttleRateLimit",
            "throttleBurstLimit",
        ):
            if given(key):
                add(
                    f"{key} configures the public API the stack creates; with "
                    "existingPublicApiId the existing API keeps its own settings"
                )
        _existing_owner_rule(c, add)
    else:
        for key in ("existingPublicApiStage", "existingPublicApiPaths"):
            if given(key):
                add(f"{key} is only read with existingPublicApiId")
        if c.public_auth == "cognito" and not c.cognito_user_pool_arn:
            add("publicAuth=cognito needs cognitoUserPoolArn")
        if c.public_auth == "lambda" and not c.authorizer_function_arn:
            add("publicAuth=lambda needs authorizerFunctionArn")
        if c.cognito_user_pool_arn and c.public_auth != "cognito":
            add("cognitoUserPoolArn is only read with publicAuth=cognito")
        if c.authorizer_function_arn and c.public_auth != "lambda":
            add("authorizerFunctionArn is only read with publicAuth=lambda")
        _created_owner_rule(c, given, add)
    if c.throttle_burst_limit < c.throttle_rate_limit:
        add("throttleBurstLimit must be at least throttleRateLimit")


def _created_owner_rule(c: DeploymentConfig, given: Callable[[str], bool], add: _Add) -> None:
    """The created API's owner: the one identity its authorizer issues (publicAuth decides)."""
    if given("ownerCheck"):
        add("ownerCheck is only read with existingPublicApiId (publicAuth decides here)")
    if c.owner_claim and c.public_auth == "none":
        add("ownerClaim needs an authorizer: publicAuth=none has no caller identity")
    elif c.owner_claim and c.owner_claim != OWNER_CLAIMS[c.public_auth]:
        add(
            f"ownerClaim={c.owner_claim} is not an identity the caller cannot choose: with "
            f"publicAuth={c.public_auth} it is {OWNER_CLAIMS[c.public_auth]}"
        )


def _existing_owner_rule(c: DeploymentConfig, add: _Add) -> None:
    """The existing API's owner rule: an identity its authorizer issues, or an explicit none."""
    if c.owner_check_disabled:
        if c.owner_claim:
            add("ownerClaim is not read with ownerCheck=false: choose one of the two")
    elif not c.owner_claim:
        add(
            "existingPublicApiId needs an owner rule: ownerClaim (sub for Cognito, principalId "
            "for a Lambda authorizer, caller for IAM), or ownerCheck=false to let every caller "
            "read any user's results (docs/security.md#the-existing-public-api)"
        )
    elif c.owner_claim not in OWNER_CLAIMS.values():
        add(
            f"ownerClaim={c.owner_claim} is not an identity the caller cannot choose (a user "
            "may set custom attributes and email on themselves): use sub (Cognito), "
            "principalId (Lambda authorizer) or caller (IAM)"
        )


def _alb_https(c: DeploymentConfig, given: Callable[[str], bool], add: _Add) -> None:
    """HTTPS at the ALB: only to a name the certificate covers (the ALB's own is in none)."""
    if c.alb_certificate_arn and not (c.alb_host_name and c.alb_hosted_zone_id):
        add(
            "albCertificateArn needs albHostName (a name the certificate covers) and "
            "albHostedZoneId (the VPC's private zone the stack adds it to): no certificate "
            "covers the ALB's own DNS name, so every forwarded request would fail TLS"
        )
    for key in ("albHostName", "albHostedZoneId"):
        if given(key) and not c.alb_certificate_arn:
            add(f"{key} is only read with albCertificateArn")


def _sizes_and_assets(c: DeploymentConfig, given: Callable[[str], bool], add: _Add) -> None:
    memory = _FARGATE.get(c.task_cpu)
    if memory is None:
        add(f"taskCpu must be one of {', '.join(map(str, _FARGATE))}, not {c.task_cpu}")
    elif c.task_memory_mib not in range(memory[0], memory[1] + 1, memory[2]):
        add(
            f"taskMemoryMiB {c.task_memory_mib} does not fit taskCpu {c.task_cpu}: "
            f"{memory[0]}-{memory[1]} in steps of {memory[2]}"
        )
    if c.result_source == "lambda" and not c.enable_lambda_rollback_source:
        add("resultSource=lambda needs enableLambdaRollbackSource=true (the task role's Invoke)")
    if c.max_count < c.desired_count:
        add(f"maxCount ({c.max_count}) must be at least desiredCount ({c.desired_count})")
    if 0 < c.caller_rate_limit < 10:  # 0: no WAF rule; AWS WAF's rate-based rules count from 10
        add(f"callerRateLimit must be 0 (off) or at least 10, not {c.caller_rate_limit}")
    if not (c.lambda_package / "lambdas").is_dir():
        add(f"{c.lambda_package} is missing: run `nox -s build` first")
    if not c.image_tag and not (c.image_context / "Dockerfile").is_file():
        add(f"{c.image_context} is missing: run `nox -s build` first, or give imageTag")
