"""``preflight``: what the running account must satisfy before each deploy step.

Each check runs when its inputs are known (an option, a stack output or a context key) and is
listed as skipped otherwise, so the same command serves before the first deploy (table, VPC
endpoints, the existing public API) and between the later steps (the Query Lambda's path to its
target, the ECS service, the ALB's targets, the alarms).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from query_migrate._aws import Aws, aws_errors
from query_migrate._checks import Check
from query_migrate._errors import AwsError, RefusedError
from query_migrate._inputs import Context, Outputs
from query_migrate.attach import plan_attach
from query_migrate.auth import auth_check

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import IpPermissionOutputTypeDef

__all__ = ["SHARED_ENDPOINT_SERVICES", "Peer", "run_preflight"]

#: Endpoints the stack creates only where the VPC lacks them, by the names of
#: ``existingVpcEndpoints`` (image pulls, the tasks' logs; ``lambda`` with the rollback source).
SHARED_ENDPOINT_SERVICES = ("ecr.api", "ecr.dkr", "logs", "s3")


def run_preflight(
    aws: Aws,
    outputs: Outputs,
    context: Context,
    *,
    api_id: str | None,
    allow_unauthenticated: bool = False,
) -> list[Check]:
    checks = [*_table(aws, outputs, context), *_endpoints(aws, outputs, context)]
    checks += _query_lambda_reach(aws, outputs, context)
    checks += _ecs(aws, outputs)
    checks += _alarms(aws, outputs)
    checks += _public_api(aws, outputs, context, api_id, allow_unauthenticated)
    return checks


def _table(aws: Aws, outputs: Outputs, context: Context) -> list[Check]:
    name = "results table"
    table = outputs.get("ResultsTableName") or context.string("existingTableName")
    if not table:
        return [Check.skipped(name, "no --table, ResultsTableName output or existingTableName")]
    try:
        with aws_errors(f"DescribeTable {table}"):
            description = aws.dynamodb.describe_table(TableName=table)["Table"]
    except AwsError as exc:
        return [Check.fail(name, str(exc), "check the table name and the region")]
    keys = {key["AttributeName"]: key["KeyType"] for key in description.get("KeySchema", [])}
    types = {
        a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", [])
    }
    schema_ok = keys == {"user_id": "HASH", "result_id": "RANGE"} and (
        types.get("user_id") == types.get("result_id") == "S"
    )
    indexes = {
        index["IndexName"]: {k["AttributeName"]: k["KeyType"] for k in index.get("KeySchema", [])}
        for index in description.get("GlobalSecondaryIndexes", [])
    }
    index = indexes.get("marketing_id-index")
    index_ok = index is not None and index.get("marketing_id") == "HASH"
    return [
        Check.holds(
            name,
            schema_ok,
            f"{table}: user_id (S) HASH, result_id (S) RANGE"
            if schema_ok
            else f"{table}: key schema {keys}",
            "the service reads user_id (S, partition) + result_id (S, sort): wrong table?",
        ),
        Check.holds(
            "marketing_id-index",
            index_ok,
            "present (kept, unused)" if index_ok else "missing" if index is None else "wrong key",
            "the stack expects the legacy index; do not deploy against another table",
        ),
    ]


def _endpoints(aws: Aws, outputs: Outputs, context: Context) -> list[Check]:
    vpc_id = context.string("vpcId") or outputs.get("VpcId")
    if not vpc_id:
        return [Check.skipped("VPC endpoints", "no vpcId in the context and no --vpc-id")]
    try:
        with aws_errors(f"DescribeVpcEndpoints {vpc_id}"):
            pages = aws.ec2.get_paginator("describe_vpc_endpoints").paginate(
                Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
            )
            found = [endpoint for page in pages for endpoint in page.get("VpcEndpoints", [])]
        own = _stack_endpoints(aws, outputs)
    except AwsError as exc:
        return [Check.fail("VPC endpoints", str(exc), "check vpcId and the region")]
    present: dict[str, bool] = {}
    ours: set[str] = set()
    prefix = f"com.amazonaws.{aws.region}."
    for endpoint in found:
        if endpoint.get("State", "available").lower() in {"deleted", "deleting", "failed"}:
            continue
        service = endpoint.get("ServiceName", "").removeprefix(prefix)
        if endpoint.get("VpcEndpointId") in own:  # the stack's: not one the VPC had
            ours.add(service)
            continue
        present[service] = present.get(service, False) or bool(endpoint.get("PrivateDnsEnabled"))
    declared = set(context.strings("existingVpcEndpoints"))
    services = list(SHARED_ENDPOINT_SERVICES)
    if context.flag("enableLambdaRollbackSource"):
        services.append("lambda")
    checks = [_shared_endpoint(service, present, declared, ours) for service in services]
    checks.append(_execute_api(present, context.flag("executeApiPrivateDns") or False))
    return checks


def _dns(private_dns: bool) -> str:
    return f"private DNS {'on' if private_dns else 'off'}"


def _stack_endpoints(aws: Aws, outputs: Outputs) -> set[str]:
    """The VPC endpoints the deployed stack created (its ``AWS::EC2::VPCEndpoint``
    resources): after the deploy they are in the VPC, and are not the VPC's own."""
    if not outputs.stack or not outputs.exists:
        return set()
    with aws_errors(f"ListStackResources {outputs.stack}"):
        pages = aws.cloudformation.get_paginator("list_stack_resources").paginate(
            StackName=outputs.stack
        )
        return {
            resource["PhysicalResourceId"]
            for page in pages
            for resource in page.get("StackResourceSummaries", [])
            if resource.get("ResourceType") == "AWS::EC2::VPCEndpoint"
            and resource.get("PhysicalResourceId")
        }


def _shared_endpoint(
    service: str, present: dict[str, bool], declared: set[str], ours: set[str] | None = None
) -> Check:
    """An endpoint the stack creates only when the VPC lacks it (``existingVpcEndpoints``)."""
    name = f"endpoint {service}"
    if ours and service in ours and service not in present and service not in declared:
        return Check.ok(name, "the stack's own (created by its deploy)")
    if service in present and service not in declared:
        return Check.fail(
            name,
            f"the VPC has one ({_dns(present[service])})",
            f'add "{service}" to existingVpcEndpoints: a second one fails the deploy',
        )
    if service in declared and service not in present:
        return Check.fail(
            name,
            "listed in existingVpcEndpoints, but the VPC has none",
            f'remove "{service}" from existingVpcEndpoints so the stack creates it',
        )
    if service in present:
        return Check.ok(name, f"the VPC's own ({_dns(present[service])}), reused")
    return Check.ok(name, "missing; the stack creates it")


def _execute_api(present: dict[str, bool], private_dns: bool) -> Check:
    """The stack always creates its own execute-api endpoint (the private API's policy names
    it), with private DNS per ``executeApiPrivateDns`` (default off in an existing VPC)."""
    name = "endpoint execute-api"
    if private_dns and present.get("execute-api"):
        return Check.fail(
            name,
            "the VPC's own execute-api endpoint has private DNS, and executeApiPrivateDns=true",
            "set executeApiPrivateDns=false: two endpoints with private DNS fail the deploy",
        )
    if private_dns:
        return Check.fail(
            name,
            "the stack would create it with private DNS in this shared VPC",
            "set executeApiPrivateDns=false: with it on, every public or regional API "
            "called from this VPC answers 403",
        )
    own = f"; the VPC has one ({_dns(present['execute-api'])})" if "execute-api" in present else ""
    return Check.ok(name, f"the stack creates its own, private DNS off{own}")


@dataclass(frozen=True)
class Peer:
    """Where a security group rule must point: a group, a CIDR or a prefix list."""

    value: str

    def admitted_by(self, rule: IpPermissionOutputTypeDef, port: int) -> bool:
        protocol = rule.get("IpProtocol")
        if protocol not in {"-1", "tcp", "6"}:
            return False
        if protocol != "-1" and not rule.get("FromPort", 0) <= port <= rule.get("ToPort", 65535):
            return False
        if self.value.startswith("sg-"):
            return any(
                pair.get("GroupId") == self.value for pair in rule.get("UserIdGroupPairs", [])
            )
        if self.value.startswith("pl-"):
            return any(p.get("PrefixListId") == self.value for p in rule.get("PrefixListIds", []))
        network = ipaddress.ip_network(self.value, strict=False)
        for block in rule.get("IpRanges", []):
            allowed = ipaddress.ip_network(block.get("CidrIp", "255.255.255.255/32"), strict=False)
            if network.version == allowed.version and network.subnet_of(allowed):  # type: ignore[arg-type]
                return True
        return False


def _security_group_rules(
    aws: Aws, group_ids: list[str], *, egress: bool
) -> list[IpPermissionOutputTypeDef]:
    with aws_errors(f"DescribeSecurityGroups {','.join(group_ids)}"):
        groups = aws.ec2.describe_security_groups(GroupIds=group_ids)["SecurityGroups"]
    if egress:
        return [rule for group in groups for rule in group.get("IpPermissionsEgress", [])]
    return [rule for group in groups for rule in group.get("IpPermissions", [])]


def _url_port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def _query_lambda_reach(aws: Aws, outputs: Outputs, context: Context) -> list[Check]:
    name = "Query Lambda -> target"
    function = outputs.get("QueryLambdaFunctionName")
    if not function:
        return [Check.skipped(name, "no --query-lambda (QueryLambdaFunctionName)")]
    try:
        with aws_errors(f"GetFunctionConfiguration {function}:live"):
            config = aws.lambda_.get_function_configuration(FunctionName=function, Qualifier="live")
        target_url = config.get("Environment", {}).get("Variables", {}).get("EKS_HANDLER_URL", "")
        own_groups = list(config.get("VpcConfig", {}).get("SecurityGroupIds", []))
        if not own_groups:
            return [
                Check.fail(name, f"{function}:live has no VPC security group", "deploy the stack")
            ]
        if context.string("trafficTarget") == "eks":
            peer_value = context.string("oldEksHandlerPeer")
            if not peer_value:
                return [
                    Check.fail(
                        name,
                        "trafficTarget=eks without oldEksHandlerPeer",
                        "set oldEksHandlerPeer (sg-…, CIDR or pl-…) and redeploy",
                    )
                ]
            port = context.integer("oldEksHandlerPort") or _url_port(target_url)
            peers, target = [Peer(peer_value)], f"EKS handler {target_url} via {peer_value}:{port}"
        else:
            target_group = outputs.get("TargetGroupArn")
            if not target_group:
                return [Check.skipped(name, "no --target-group-arn to find the ALB")]
            with aws_errors(f"DescribeTargetGroups {target_group}"):
                group = aws.elbv2.describe_target_groups(TargetGroupArns=[target_group])
                balancers = group["TargetGroups"][0].get("LoadBalancerArns", [])
                described = aws.elbv2.describe_load_balancers(LoadBalancerArns=balancers)
            alb_groups = [
                g for lb in described["LoadBalancers"] for g in lb.get("SecurityGroups", [])
            ]
            # The ALB's port: before the traffic deploy, live still calls EKS (another port).
            port = _url_port(outputs.get("ServiceUrl") or target_url)
            peers = [Peer(group_id) for group_id in alb_groups]
            target = f"ALB {target_url} ({', '.join(alb_groups)}:{port})"
            ingress = _security_group_rules(aws, alb_groups, egress=False)
            if not any(Peer(g).admitted_by(rule, port) for g in own_groups for rule in ingress):
                return [
                    Check.fail(
                        name,
                        f"the ALB's groups admit no {', '.join(own_groups)} on {port}",
                        "redeploy the stack: the ALB admits the Query Lambda only",
                    )
                ]
        egress = _security_group_rules(aws, own_groups, egress=True)
    except AwsError as exc:
        return [Check.fail(name, str(exc), "check the names and your permissions")]
    if any(peer.admitted_by(rule, port) for peer in peers for rule in egress):
        return [Check.ok(name, f"{function}:live may reach {target}")]
    return [
        Check.fail(
            name,
            f"{', '.join(own_groups)} allow no egress to {target}",
            "with trafficTarget=eks set oldEksHandlerPeer/oldEksHandlerPort and redeploy",
        )
    ]


def _ecs(aws: Aws, outputs: Outputs) -> list[Check]:
    checks = []
    cluster, service = outputs.get("EcsClusterName"), outputs.get("EcsServiceName")
    if cluster and service:
        try:
            with aws_errors(f"DescribeServices {cluster}/{service}"):
                found = aws.ecs.describe_services(cluster=cluster, services=[service])["services"]
            if not found:
                checks.append(
                    Check.fail(
                        "ECS service", f"{service} not found in {cluster}", "deploy the stack"
                    )
                )
            else:
                svc = found[0]
                desired, running = svc.get("desiredCount", 0), svc.get("runningCount", 0)
                deployments = svc.get("deployments", [])
                rollout = deployments[0].get("rolloutState", "COMPLETED") if deployments else "?"
                detail = (
                    f"{running}/{desired} tasks running, {len(deployments)} deployment(s), "
                    f"rollout {rollout}"
                )
                steady = (
                    svc.get("status") == "ACTIVE"
                    and len(deployments) == 1
                    and rollout == "COMPLETED"
                    and running == desired > 0
                )
                checks.append(
                    Check.holds(
                        "ECS service steady",
                        steady,
                        detail,
                        "wait for the rollout; see the service's events",
                    )
                )
        except AwsError as exc:
            checks.append(Check.fail("ECS service steady", str(exc), "check the names"))
    else:
        checks.append(Check.skipped("ECS service steady", "no --cluster/--ecs-service"))
    target_group = outputs.get("TargetGroupArn")
    if not target_group:
        checks.append(Check.skipped("ALB targets healthy", "no --target-group-arn"))
        return checks
    try:
        with aws_errors(f"DescribeTargetHealth {target_group}"):
            health = aws.elbv2.describe_target_health(TargetGroupArn=target_group)
    except AwsError as exc:
        return [*checks, Check.fail("ALB targets healthy", str(exc), "check the ARN")]
    states = [
        d.get("TargetHealth", {}).get("State", "?") for d in health["TargetHealthDescriptions"]
    ]
    healthy = states.count("healthy")
    detail = f"{healthy}/{len(states)} healthy" + (
        f" (others: {', '.join(sorted(set(states) - {'healthy'}))})"
        if healthy < len(states)
        else ""
    )
    checks.append(
        Check.holds(
            "ALB targets healthy",
            bool(states) and healthy == len(states),
            detail,
            "see the target group's health-check reason; GET /health must be 200",
        )
    )
    return checks


def _alarms(aws: Aws, outputs: Outputs) -> list[Check]:
    names = outputs.listing("AlarmNames")
    if not names:
        return [Check.skipped("alarms in OK", "no --alarms (AlarmNames)")]
    try:
        with aws_errors("DescribeAlarms"):
            alarms = aws.cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]
    except AwsError as exc:
        return [Check.fail("alarms in OK", str(exc), "check the names")]
    states = {alarm["AlarmName"]: alarm.get("StateValue", "?") for alarm in alarms}
    bad = {name: states.get(name, "not found") for name in names if states.get(name) != "OK"}
    if bad:
        listed = ", ".join(f"{name}: {state}" for name, state in sorted(bad.items()))
        return [Check.fail("alarms in OK", listed, "find the cause before the next step (status)")]
    return [Check.ok("alarms in OK", f"{len(names)} alarms OK")]


def _public_api(
    aws: Aws, outputs: Outputs, context: Context, api_id: str | None, allow_open: bool
) -> list[Check]:
    name = "existing public API"
    api = context.existing_api(api_id)
    if api is None:
        return [Check.skipped(name, "no existingPublicApiId (create mode)")]
    try:
        plan = plan_attach(aws, api, alias_arn=outputs.get("QueryLambdaAliasArn"))
    except RefusedError as exc:
        return [Check.fail(name, str(exc), "attach cannot repoint it: fix the API or the paths")]
    except AwsError as exc:
        return [Check.fail(name, str(exc), "check existingPublicApiId/existingPublicApiStage")]
    if plan.to_attach:
        count = len(plan.to_attach)
        detail = f"{api.api_id}/{api.stage}: {count} Lambda proxy integration(s) attach can repoint"
    else:
        detail = f"{api.api_id}/{api.stage}: already attached to {plan.alias_arn}"
    return [Check.ok(name, detail), auth_check(plan.auth, allowed=allow_open)]
