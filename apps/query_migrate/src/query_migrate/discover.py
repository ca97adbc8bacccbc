"""``discover``: the CDK context of the running account, read from the public API onwards.

From the public API's id and stage it follows the Lambda proxy integrations to the old Query
Lambda, and from there its VPC configuration, security groups and environment
(``EKS_HANDLER_URL``, the table), the VPC's CIDRs (every associated block), the private
subnets' zones and route tables (the explicit association, else the VPC's main table), the
VPC's endpoints, the security group that admits the old Query Lambda at the EKS handler's
port, and the owner rule its methods' authorizer gives (``ownerClaim``: the one identity that
authorizer issues and the caller cannot choose). Every value names where it came from; what
it could not find names how to find it.
Read-only: every call is a Get/Describe/List (the IAM policy in docs/reference).

Only keys the CDK app reads are written (those ``infra/src/query_infra/context.py`` reads; a
test pins it). The VPC's primary block goes to ``vpcCidr`` and every
associated block to ``endpointIngressCidrs``, which admits them to the shared endpoints.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from query_migrate._aws import Aws, aws_errors
from query_migrate._owner import owner_claim
from query_migrate._restapi import LAMBDA_URI, MethodIntegration, get_integration, resources

__all__ = [
    "CHOICES",
    "ENDPOINT_SERVICES",
    "TO_CHOOSE",
    "Discovered",
    "context_text",
    "diff",
    "discover",
    "eks_port",
    "merged",
]

#: Gateway endpoints have no security group: the tasks reach them by their prefix list.
_GATEWAY_ENDPOINTS = frozenset({"s3"})

#: The VPC endpoint services the CDK app knows (``query_infra.config.ENDPOINT_SERVICES``).
ENDPOINT_SERVICES = (
    "execute-api",
    "ecr.api",
    "ecr.dkr",
    "logs",
    "s3",
    "lambda",
    "secretsmanager",
)
_GONE = {"deleted", "deleting", "failed", "rejected", "expired"}


@dataclass
class Discovered:
    """The context found, each key's source, and what was not found with how to find it."""

    context: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def found(self, key: str, value: Any, source: str) -> None:
        self.context[key] = value
        self.sources[key] = source

    def lack(self, key: str, how: str) -> None:
        self.missing[key] = how


def eks_port(url: str) -> int | None:
    """The port an ``http(s)://`` URL connects to (None for another scheme)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    return parts.port or (443 if parts.scheme == "https" else 80)


def discover(aws: Aws, api_id: str, stage: str) -> Discovered:
    found = Discovered()
    with aws_errors(f"GetStage {api_id}/{stage}"):
        aws.apigateway.get_stage(restApiId=api_id, stageName=stage)
    found.found("region", aws.region, "the AWS session's region (where the API was found)")
    found.found("existingPublicApiId", api_id, "given (--api-id)")
    found.found("existingPublicApiStage", stage, f"given (--api-stage), GetStage {stage}")
    old = _old_lambda(aws, api_id, found)
    if old is None:
        return found
    function_arn, methods = old
    claim, how = owner_claim(aws, api_id, methods)
    if claim:
        found.found("ownerClaim", claim, how)
    else:
        found.lack("ownerClaim", how)
    with aws_errors(f"GetFunctionConfiguration {function_arn}"):
        config = aws.lambda_.get_function_configuration(FunctionName=function_arn)
    name = config.get("FunctionName", function_arn)
    found.found("account", function_arn.split(":")[4], f"the ARN of Lambda {name}")
    env = config.get("Environment", {}).get("Variables", {})
    port = _eks_handler(env, name, found)
    _table(aws, env, name, found)
    vpc = config.get("VpcConfig", {})
    subnet_ids = list(vpc.get("SubnetIds", []))
    if not subnet_ids:
        found.lack("vpcId", f"Lambda {name} runs in no VPC: give the VPC the EKS cluster uses")
        return found
    vpc_id = _subnets(aws, subnet_ids, name, found)
    _cidrs(aws, vpc_id, found)
    _endpoints(aws, vpc_id, found)
    groups = list(vpc.get("SecurityGroupIds", []))
    _peer(aws, vpc_id, groups, port=port, name=name, found=found)
    return found


def _old_lambda(
    aws: Aws, api_id: str, found: Discovered
) -> tuple[str, list[MethodIntegration]] | None:
    """The function the API's Lambda proxy integrations invoke (the old Query Lambda), and the
    methods that invoke it."""
    invoked: dict[str, str] = {}
    proxies: dict[str, list[MethodIntegration]] = {}
    for path, resource in sorted(resources(aws, api_id).items()):
        for verb in sorted(resource.get("resourceMethods", {})):
            integration = get_integration(aws, api_id, resource["id"], verb)
            match = LAMBDA_URI.match(str(integration.get("uri", "")))
            if integration.get("type") == "AWS_PROXY" and match:
                invoked[path] = match.group("function")
                method = MethodIntegration(path, resource["id"], verb, integration)
                proxies.setdefault(invoked[path], []).append(method)
    if not invoked:
        found.lack(
            "existingPublicApiPaths",
            f"API {api_id} has no Lambda proxy integration: check --api-id and the region",
        )
        return None
    counts = Counter(invoked.values())
    function_arn = invoked.get("/query/result") or counts.most_common(1)[0][0]
    paths = sorted(path for path, arn in invoked.items() if arn == function_arn)
    found.found(
        "existingPublicApiPaths",
        paths,
        f"GetResources/GetIntegration: the paths that invoke {function_arn.split(':')[6]}",
    )
    return function_arn, proxies[function_arn]


def _eks_handler(env: dict[str, str], name: str, found: Discovered) -> int | None:
    url = env.get("EKS_HANDLER_URL", "")
    parts = urlsplit(url)
    port = eks_port(url)
    if port is None or not parts.hostname:
        found.lack(
            "oldEksHandlerUrl",
            f"Lambda {name} has no http(s) EKS_HANDLER_URL: the EKS handler's Service/Ingress URL",
        )
        return None
    base = f"{parts.scheme}://{parts.netloc}"
    where = f"Lambda {name} environment EKS_HANDLER_URL"
    if parts.path.strip("/"):
        where += f" (its path {parts.path} dropped: the context takes a base URL)"
    found.found("oldEksHandlerUrl", base, where)
    found.found("oldEksHandlerPort", port, f"the port of {base}")
    return port


def _table(aws: Aws, env: dict[str, str], name: str, found: Discovered) -> None:
    named = sorted(value for key, value in env.items() if "TABLE" in key.upper() and value)
    existing = []
    for table in named:
        with aws_errors(f"DescribeTable {table}"):
            try:
                aws.dynamodb.describe_table(TableName=table)
            except aws.dynamodb.exceptions.ResourceNotFoundException:
                continue
        existing.append(table)
    if len(existing) == 1:
        variable = next(key for key, value in env.items() if value == existing[0])
        found.found("existingTableName", existing[0], f"Lambda {name} environment {variable}")
    else:
        which = f"several: {', '.join(existing)}" if existing else "none in its environment"
        found.lack(
            "existingTableName",
            f"the results table ({which}): the table with marketing_id-index "
            "(aws dynamodb list-tables; preflight checks its schema)",
        )


def _cidrs(aws: Aws, vpc_id: str, found: Discovered) -> None:
    with aws_errors(f"DescribeVpcs {vpc_id}"):
        vpc = aws.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    primary = vpc.get("CidrBlock", "")
    blocks = [
        a["CidrBlock"]
        for a in vpc.get("CidrBlockAssociationSet", [])
        if a.get("CidrBlockState", {}).get("State") == "associated" and "CidrBlock" in a
    ]
    found.found("vpcCidr", primary, f"DescribeVpcs {vpc_id}: the primary CIDR block")
    found.found(
        "endpointIngressCidrs",
        blocks or [primary],
        f"DescribeVpcs {vpc_id}: every associated CIDR block ({len(blocks)}), so the shared "
        "endpoints admit all of the VPC",
    )


def _subnets(aws: Aws, subnet_ids: list[str], name: str, found: Discovered) -> str:
    """The Lambda's subnets (the private ones), their zones and route tables; the VPC's id."""
    with aws_errors("DescribeSubnets"):
        subnets = aws.ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]
    subnets.sort(key=lambda s: (s.get("AvailabilityZone", ""), s["SubnetId"]))
    vpc_id = subnets[0]["VpcId"]
    found.found("vpcId", vpc_id, f"DescribeSubnets of Lambda {name}'s VpcConfig subnets")
    found.found("privateSubnetIds", [s["SubnetId"] for s in subnets], f"Lambda {name} VpcConfig")
    found.found(
        "availabilityZones",
        [s.get("AvailabilityZone", "") for s in subnets],
        "DescribeSubnets: the zone of each subnet",
    )
    tables, how = [], []
    for subnet in subnets:
        table, kind = _route_table(aws, vpc_id, subnet["SubnetId"])
        if table is None:
            found.lack("privateRouteTableIds", f"{subnet['SubnetId']} has no route table")
            return vpc_id
        tables.append(table)
        how.append(f"{subnet['SubnetId']}: {kind}")
    found.found(
        "privateRouteTableIds",
        tables,
        "DescribeRouteTables: " + ", ".join(how),
    )
    return vpc_id


def _route_table(aws: Aws, vpc_id: str, subnet_id: str) -> tuple[str | None, str]:
    """The subnet's route table: its explicit association, else the VPC's main table."""
    with aws_errors(f"DescribeRouteTables {subnet_id}"):
        tables = aws.ec2.describe_route_tables(
            Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}]
        )["RouteTables"]
        if tables:
            return tables[0]["RouteTableId"], "explicit association"
        tables = aws.ec2.describe_route_tables(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "association.main", "Values": ["true"]},
            ]
        )["RouteTables"]
    if tables:
        return tables[0]["RouteTableId"], "VPC's main table"
    return None, ""


def _endpoints(aws: Aws, vpc_id: str, found: Discovered) -> None:
    with aws_errors(f"DescribeVpcEndpoints {vpc_id}"):
        endpoints = aws.ec2.describe_vpc_endpoints(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
        )["VpcEndpoints"]
    prefix = f"com.amazonaws.{aws.region}."
    services = set()
    peers: set[str] = set()
    for endpoint in endpoints:
        service = endpoint.get("ServiceName", "").removeprefix(prefix)
        if service in ENDPOINT_SERVICES and endpoint.get("State", "").lower() not in _GONE:
            services.add(service)
            if endpoint.get("VpcEndpointType") == "Interface":
                peers.update(group["GroupId"] for group in endpoint.get("Groups", []))
    ordered = [service for service in ENDPOINT_SERVICES if service in services]
    found.found("existingVpcEndpoints", ordered, f"DescribeVpcEndpoints in {vpc_id}")
    interface = [service for service in ordered if service not in _GATEWAY_ENDPOINTS]
    if peers:
        found.found(
            "existingEndpointPeers",
            sorted(peers),
            f"DescribeVpcEndpoints in {vpc_id}: the security groups of {', '.join(interface)}",
        )
    elif interface:
        found.lack(
            "existingEndpointPeers",
            f"the security groups (sg-…) or prefix lists (pl-…) of {', '.join(interface)}: "
            "aws ec2 describe-vpc-endpoints --filters Name=vpc-id,Values=" + vpc_id,
        )
    found.found(
        "executeApiPrivateDns",
        False,
        "an existing VPC: private DNS on execute-api would turn every public API called from "
        "the VPC into a 403",
    )


def _peer(
    aws: Aws,
    vpc_id: str,
    lambda_groups: list[str],
    *,
    port: int | None,
    name: str,
    found: Discovered,
) -> None:
    """The security group that admits the old Query Lambda's groups at the handler's port."""
    how = "the EKS handler's security group (its ingress from the old Query Lambda)"
    if port is None or not lambda_groups:
        found.lack("oldEksHandlerPeer", how)
        return
    with aws_errors(f"DescribeSecurityGroups in {vpc_id}"):
        pages = aws.ec2.get_paginator("describe_security_groups").paginate(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
        )
        groups = [group for page in pages for group in page["SecurityGroups"]]
    admitting = sorted(
        group["GroupId"]
        for group in groups
        for rule in group.get("IpPermissions", [])
        if _covers(rule, port)
        and any(pair.get("GroupId") in lambda_groups for pair in rule.get("UserIdGroupPairs", []))
    )
    unique = sorted(set(admitting))
    if len(unique) == 1:
        found.found(
            "oldEksHandlerPeer",
            unique[0],
            f"DescribeSecurityGroups: admits Lambda {name}'s security group on port {port}",
        )
    else:
        which = f"several admit it: {', '.join(unique)}" if unique else "none admits it"
        found.lack("oldEksHandlerPeer", f"{how}; {which} on port {port}")


def _covers(rule: Any, port: int) -> bool:
    if rule.get("IpProtocol") == "-1":
        return True
    return bool(
        rule.get("IpProtocol") == "tcp"
        and rule.get("FromPort", 0) <= port <= rule.get("ToPort", 65535)
    )


#: Keys that are the operator's choice, not a fact of the account: set when absent.
CHOICES: dict[str, tuple[Any, str]] = {
    "trafficTarget": ("eks", "the first deploy keeps clients on EKS (runbook, Deploy 2)"),
}
#: Keys discover cannot find, and how to choose them.
TO_CHOOSE = {
    "environment": "choose a name (lowercase, up to 20): the stack is QueryService-<environment>",
}


def merged(existing: dict[str, Any], found: Discovered) -> dict[str, Any]:
    """The existing context with every key found written over, and the choices still absent."""
    context = {**existing, **found.context}
    for key in existing.keys() - found.context.keys():
        found.sources[key] = "kept: already in the file"
    for key, (value, why) in CHOICES.items():
        if key not in context:
            context[key] = value
            found.sources[key] = why
    for key, how in TO_CHOOSE.items():
        if key not in context:
            found.lack(key, how)
    return context


def context_text(context: dict[str, Any]) -> str:
    """The context file as written: JSON, two spaces, a newline at the end."""
    return json.dumps(context, indent=2) + "\n"


def diff(path: str, before: str, after: str) -> str:
    """A unified diff of the context file (empty when unchanged)."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), path, path
    )
    return "".join(lines)
