"""Which phase of the cutover the running account is in, decided from what the account says.

The runbook's steps leave the account in one of six phases; ``preflight``, ``smoke`` and
``status`` read the facts (:func:`read_facts`), decide the phase (:func:`decide_phase`, a pure
function of the facts) and check what must hold in it:

```
no stack        the Query Lambda's alias live does not exist (before deploy 1)
deployed (eks)  alias live on a version whose EKS_HANDLER_URL is the EKS handler; the
                existing public API still invokes the old Query Lambda
attached        … and the public API's integrations invoke alias live, but /query/marketing's
                (retire-marketing's step) (create mode: always)
canary          alias live has additional version weights, or a CodeDeploy deployment of
                its deployment group is in progress
ecs             alias live on a version whose EKS_HANDLER_URL is the ALB, at 100 %
eks gone        … and the Query Lambda's security group reaches nothing but the ALB
```
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from query_migrate._aws import Aws, aws_errors
from query_migrate._errors import AwsError, RefusedError
from query_migrate._inputs import Context, Outputs
from query_migrate.attach import plan_attach
from query_migrate.retire import is_marketing

__all__ = ["Phase", "PhaseFacts", "decide_phase", "read_facts"]

#: CodeDeploy's states of a deployment that has not ended.
_RUNNING = {"Created", "Queued", "InProgress", "Baking", "Ready"}


class Phase(enum.StrEnum):
    NO_STACK = "no stack"
    DEPLOYED_EKS = "deployed (eks)"
    ATTACHED = "attached"
    CANARY = "canary"
    ECS = "ecs"
    EKS_GONE = "eks gone"

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]

    @property
    def attached(self) -> bool:
        """Whether the public API invokes the new alias in this phase."""
        return self not in {Phase.NO_STACK, Phase.DEPLOYED_EKS}


_MEANINGS = {
    Phase.NO_STACK: "the stack is not deployed: before Deploy step 2",
    Phase.DEPLOYED_EKS: "alias live leads to EKS; the public API still invokes the old Query "
    "Lambda: before Switch step 1 (attach)",
    Phase.ATTACHED: "the public API invokes alias live, which leads to EKS: "
    "before Switch step 2 (trafficTarget=ecs)",
    Phase.CANARY: "alias live is moving between EKS and ECS (Watch)",
    Phase.ECS: "alias live leads to the ALB at 100 %; EKS is still reachable for a rollback",
    Phase.EKS_GONE: "alias live leads to the ALB at 100 %; the Query Lambda no longer reaches "
    "EKS (Clean-up)",
}


@dataclass(frozen=True)
class PhaseFacts:
    """What the account says, as far as the phase depends on it."""

    #: Alias live of the Query Lambda exists.
    deployed: bool
    #: Where the alias's own version sends requests: "eks" or "ecs" (None: not deployed).
    alias_target: str | None = None
    #: The alias routes a share to another version (AdditionalVersionWeights).
    weighted: bool = False
    #: A CodeDeploy deployment of the Query Lambda's group has not ended.
    deploying: bool = False
    #: Every integration of the existing public API invokes the alias; None in create mode
    #: (the stack's own public API always does) or when the API could not be read.
    attached: bool | None = None
    #: The Query Lambda's security group allows egress beyond the ALB; None when unknown.
    eks_egress: bool | None = None
    #: The public API's ``/query/marketing`` methods invoke alias live, which answers 410;
    #: None in create mode (the stack's own API has no such path: 404 or 410 from the alias).
    marketing_on_alias: bool | None = None


def decide_phase(facts: PhaseFacts) -> Phase:
    """The phase these facts describe (the module's docstring draws the table)."""
    if not facts.deployed:
        return Phase.NO_STACK
    if facts.weighted or facts.deploying:
        return Phase.CANARY
    if facts.alias_target == "eks":
        return Phase.DEPLOYED_EKS if facts.attached is False else Phase.ATTACHED
    return Phase.EKS_GONE if facts.eks_egress is False else Phase.ECS


def _target(url: str, alb_hosts: set[str], eks_url: str | None) -> str:
    """Where ``url`` leads: "ecs" when it names the ALB (``ServiceUrl``'s host or the target
    group's load balancer), "eks" when it is ``oldEksHandlerUrl``, else the one not known to
    differ."""
    host = urlsplit(url).hostname or ""
    if host in alb_hosts:
        return "ecs"
    if eks_url and host == urlsplit(eks_url).hostname:
        return "eks"
    return "eks" if alb_hosts else "ecs" if eks_url else "eks"


def _alb_hosts(aws: Aws, outputs: Outputs) -> set[str]:
    hosts = set()
    if service_url := outputs.get("ServiceUrl"):
        hosts.add(urlsplit(service_url).hostname or "")
    if target_group := outputs.get("TargetGroupArn"):
        with aws_errors(f"DescribeTargetGroups {target_group}"):
            group = aws.elbv2.describe_target_groups(TargetGroupArns=[target_group])
            balancers = group["TargetGroups"][0].get("LoadBalancerArns", [])
            if balancers:
                described = aws.elbv2.describe_load_balancers(LoadBalancerArns=balancers)
                hosts |= {lb["DNSName"] for lb in described["LoadBalancers"] if "DNSName" in lb}
    return hosts - {""}


def _deploying(aws: Aws, outputs: Outputs) -> bool:
    application = outputs.get("CodeDeployApplicationName")
    group = outputs.get("CodeDeployDeploymentGroupName")
    if not (application and group):
        return False
    now = datetime.now(UTC)
    with aws_errors(f"ListDeployments {application}/{group}"):
        ids = aws.codedeploy.list_deployments(
            applicationName=application,
            deploymentGroupName=group,
            includeOnlyStatuses=sorted(_RUNNING),  # type: ignore[arg-type]
            createTimeRange={"start": now - timedelta(days=1), "end": now + timedelta(minutes=1)},
        ).get("deployments", [])
    return bool(ids)


def _attached(aws: Aws, outputs: Outputs, context: Context) -> bool | None:
    api = context.existing_api()
    alias_arn = outputs.get("QueryLambdaAliasArn")
    if api is None or not alias_arn:
        return None
    # attach leaves /query/marketing and below to retire-marketing: attached without them.
    kept = tuple(path for path in api.paths if not is_marketing(path))
    try:
        plan = plan_attach(aws, replace(api, paths=kept or api.paths), alias_arn=alias_arn)
    except (RefusedError, AwsError):
        return None  # preflight's "existing public API" check says why
    return not plan.to_attach


def _marketing_on_alias(aws: Aws, outputs: Outputs, context: Context) -> bool | None:
    """Whether every method under ``/query/marketing`` of the existing API invokes the alias."""
    api = context.existing_api()
    alias_arn = outputs.get("QueryLambdaAliasArn")
    if api is None:
        return None
    if not alias_arn:
        return False
    with aws_errors(f"GetResources {api.api_id}"):
        pages = aws.apigateway.get_paginator("get_resources").paginate(restApiId=api.api_id)
        found = [item for page in pages for item in page.get("items", [])]
    uris = []
    for resource in found:
        path = resource.get("path", "")
        if path != "/query/marketing" and not path.startswith("/query/marketing/"):
            continue
        for method in resource.get("resourceMethods", {}):
            with aws_errors(f"GetIntegration {method} {path}"):
                integration = aws.apigateway.get_integration(
                    restApiId=api.api_id, resourceId=resource["id"], httpMethod=method
                )
            if integration.get("type") in {"AWS_PROXY", "AWS"}:
                uris.append(str(integration.get("uri", "")))
    return bool(uris) and all(f"{alias_arn}/invocations" in uri for uri in uris)


def _alb_groups(aws: Aws, target_group: str) -> set[str]:
    with aws_errors(f"DescribeTargetGroups {target_group}"):
        group = aws.elbv2.describe_target_groups(TargetGroupArns=[target_group])["TargetGroups"]
        balancers = group[0].get("LoadBalancerArns", []) if group else []
        if not balancers:
            return set()
        described = aws.elbv2.describe_load_balancers(LoadBalancerArns=balancers)
    return {g for lb in described["LoadBalancers"] for g in lb.get("SecurityGroups", [])}


def _endpoint_groups(aws: Aws, vpc: str | None) -> set[str]:
    """The security groups of the VPC's endpoints (the stack's and the VPC's own)."""
    if not vpc:
        return set()
    with aws_errors(f"DescribeVpcEndpoints {vpc}"):
        pages = aws.ec2.get_paginator("describe_vpc_endpoints").paginate(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}]
        )
        endpoints = [e for page in pages for e in page.get("VpcEndpoints", [])]
    return {g["GroupId"] for e in endpoints for g in e.get("Groups", []) if g.get("GroupId")}


def _eks_egress(aws: Aws, outputs: Outputs, own_groups: list[str]) -> bool | None:
    """Whether the Query Lambda's groups allow egress to anything but the ALB: its other
    rules may reach only the VPC's endpoints (their groups) and AWS's prefix lists (the S3
    gateway's), which the stack gives it for the caller proof secret and the private API;
    a CIDR or another group (the EKS nodes') may still be the EKS handler."""
    target_group = outputs.get("TargetGroupArn")
    if not own_groups or not target_group:
        return None
    allowed = _alb_groups(aws, target_group) | _endpoint_groups(aws, outputs.get("VpcId"))
    with aws_errors(f"DescribeSecurityGroups {','.join(own_groups)}"):
        groups = aws.ec2.describe_security_groups(GroupIds=own_groups)["SecurityGroups"]
    for rule in (r for g in groups for r in g.get("IpPermissionsEgress", [])):
        peers = [p.get("GroupId") for p in rule.get("UserIdGroupPairs", [])]
        if rule.get("IpRanges") or rule.get("Ipv6Ranges") or any(p not in allowed for p in peers):
            return True
    return False


def read_facts(aws: Aws, outputs: Outputs, context: Context) -> PhaseFacts:
    """The facts from the account; raises AwsError when a call other than "not found" fails."""
    function = outputs.get("QueryLambdaFunctionName")
    if not function:
        return PhaseFacts(deployed=False)
    lam = aws.lambda_
    try:
        with aws_errors(f"GetAlias {function}:live"):
            alias = lam.get_alias(FunctionName=function, Name="live")
    except AwsError as exc:
        if exc.code == "ResourceNotFoundException":
            return PhaseFacts(deployed=False)
        raise
    with aws_errors(f"GetFunctionConfiguration {function}:{alias['FunctionVersion']}"):
        config = lam.get_function_configuration(
            FunctionName=function, Qualifier=alias["FunctionVersion"]
        )
    url = config.get("Environment", {}).get("Variables", {}).get("EKS_HANDLER_URL", "")
    own_groups = list(config.get("VpcConfig", {}).get("SecurityGroupIds", []))
    if sg := outputs.get("QueryLambdaSecurityGroupId"):
        own_groups = [sg]
    weights = alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})
    return PhaseFacts(
        deployed=True,
        alias_target=_target(url, _alb_hosts(aws, outputs), context.string("oldEksHandlerUrl")),
        weighted=any(weight > 0 for weight in weights.values()),
        deploying=_deploying(aws, outputs),
        attached=_attached(aws, outputs, context),
        eks_egress=_eks_egress(aws, outputs, own_groups),
        marketing_on_alias=_marketing_on_alias(aws, outputs, context),
    )
