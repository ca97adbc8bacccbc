"""What must hold in each phase (:mod:`query_migrate.phase`), beyond ``preflight``'s checks.

- the phase itself, read from the account;
- the public API invoking alias live once traffic moves (``attach`` first);
- the EKS side admitting the new Query Lambda's security group while alias live may lead to
  EKS (deployed, attached, canary, and at ECS for a rollback), on ``oldEksHandlerPeer``'s
  group: ingress is the EKS side's rule, which the stack cannot write;
- the account's free Lambda concurrency for what the stack reserves (``reservedConcurrency``
  for each of its two functions), AWS keeping at least 100 unreserved.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from query_migrate._aws import Aws, aws_errors
from query_migrate._checks import Check
from query_migrate._errors import AwsError
from query_migrate._inputs import Context, Outputs
from query_migrate.phase import Phase, PhaseFacts, decide_phase, read_facts
from query_migrate.preflight import Peer

__all__ = [
    "UNRESERVED_FLOOR",
    "concurrency_check",
    "eks_ingress_check",
    "phase_checks",
    "read_phase",
    "reserved_fit",
]

#: AWS keeps this much of the account's concurrency unreserved.
UNRESERVED_FLOOR = 100
#: The stack's functions that reserve concurrency: the Query Lambda, the Query Result Lambda.
_RESERVING = ("QueryLambdaFunctionName", "QueryResultFunctionName")
#: The phases in which alias live may send a request to EKS (ECS: a rollback would).
_EKS_IN_USE = {Phase.DEPLOYED_EKS, Phase.ATTACHED, Phase.CANARY, Phase.ECS}


def read_phase(
    aws: Aws, outputs: Outputs, context: Context
) -> tuple[Phase | None, PhaseFacts | None, Check]:
    """The phase, its facts and the check that prints it (a ✗ when the account is unreadable)."""
    try:
        facts = read_facts(aws, outputs, context)
    except AwsError as exc:
        return None, None, Check.fail("phase", str(exc), "check the names and your permissions")
    phase = decide_phase(facts)
    return phase, facts, Check.ok("phase", f"{phase}: {phase.meaning}")


def phase_checks(
    aws: Aws, outputs: Outputs, context: Context, phase: Phase, facts: PhaseFacts
) -> list[Check]:
    checks = []
    if phase in {Phase.CANARY, Phase.ECS, Phase.EKS_GONE} and facts.attached is False:
        checks.append(
            Check.fail(
                "public API attached",
                "the public API still invokes the old Query Lambda: clients never see ECS",
                "run query-migrate attach (Switch step 1) before moving the traffic",
            )
        )
    checks.append(eks_ingress_check(aws, outputs, context, phase))
    checks.append(concurrency_check(aws, outputs, context))
    return checks


def _port(context: Context) -> int:
    if port := context.integer("oldEksHandlerPort"):
        return port
    parts = urlsplit(context.string("oldEksHandlerUrl") or "")
    return parts.port or (443 if parts.scheme == "https" else 80)


def _lambda_network(aws: Aws, outputs: Outputs) -> tuple[str | None, list[str]]:
    """The Query Lambda's security group and its subnets' CIDRs (an ingress rule may name
    either)."""
    group = outputs.get("QueryLambdaSecurityGroupId")
    function = outputs.get("QueryLambdaFunctionName")
    if not function:
        return group, []
    with aws_errors(f"GetFunctionConfiguration {function}:live"):
        vpc = aws.lambda_.get_function_configuration(FunctionName=function, Qualifier="live").get(
            "VpcConfig", {}
        )
    group = group or next(iter(vpc.get("SecurityGroupIds", [])), None)
    subnets = list(vpc.get("SubnetIds", []))
    if not subnets:
        return group, []
    with aws_errors("DescribeSubnets"):
        described = aws.ec2.describe_subnets(SubnetIds=subnets)["Subnets"]
    return group, [s["CidrBlock"] for s in described if "CidrBlock" in s]


def eks_ingress_check(aws: Aws, outputs: Outputs, context: Context, phase: Phase) -> Check:
    name = "EKS admits the Query Lambda"
    if phase is Phase.NO_STACK:
        return Check.skipped(name, "the Query Lambda's security group exists after the deploy")
    if phase not in _EKS_IN_USE:
        return Check.skipped(name, "EKS is no longer reached: nothing to admit")
    peer = context.string("oldEksHandlerPeer")
    if not peer:
        if phase is Phase.ECS:
            return Check.skipped(name, "no oldEksHandlerPeer: no rollback to EKS is possible")
        return Check.fail(
            name,
            f"phase {phase}: alias live leads to EKS, but the context has no oldEksHandlerPeer",
            "set oldEksHandlerPeer (the EKS handler's security group) in the context and deploy",
        )
    try:
        group, cidrs = _lambda_network(aws, outputs)
        if group is None:
            return Check.skipped(name, "no --query-lambda-sg (QueryLambdaSecurityGroupId)")
        if not peer.startswith("sg-"):
            return Check.skipped(
                name,
                f"oldEksHandlerPeer {peer} is not a security group: the EKS side's rules are "
                f"not read here; they must admit {group}",
            )
        port = _port(context)
        with aws_errors(f"DescribeSecurityGroups {peer}"):
            found = aws.ec2.describe_security_groups(GroupIds=[peer])["SecurityGroups"]
    except AwsError as exc:
        return Check.fail(name, str(exc), "check oldEksHandlerPeer, the names and the region")
    rules = [rule for g in found for rule in g.get("IpPermissions", [])]
    sources = [Peer(group), *(Peer(cidr) for cidr in cidrs)]
    if any(source.admitted_by(rule, port) for source in sources for rule in rules):
        return Check.ok(name, f"{peer} admits {group} on {port}")
    return Check.fail(
        name,
        f"{peer} admits neither {group} nor the Query Lambda's subnets on {port}",
        f"on the EKS side: aws ec2 authorize-security-group-ingress --group-id {peer} "
        f"--protocol tcp --port {port} --source-group {group}",
    )


def reserved_fit(unreserved: int, current: list[int], asked: int) -> tuple[int, int]:
    """What the stack still has to reserve for ``asked`` per function (``current``: what each
    already reserves), and the largest ``asked`` the account can give each of them."""
    needed = sum(max(0, asked - held) for held in current)
    spare = unreserved - UNRESERVED_FLOOR
    largest = 0
    while sum(max(0, largest + 1 - held) for held in current) <= spare and largest < 1000:
        largest += 1
    return needed, largest


def concurrency_check(aws: Aws, outputs: Outputs, context: Context) -> Check:
    name = "Lambda concurrency free"
    asked = context.integer("reservedConcurrency") or 50
    try:
        current = []
        for output in _RESERVING:
            function = outputs.get(output)
            if not function:
                current.append(0)
                continue
            try:
                with aws_errors(f"GetFunctionConcurrency {function}"):
                    answer = aws.lambda_.get_function_concurrency(FunctionName=function)
                current.append(answer.get("ReservedConcurrentExecutions", 0))
            except AwsError as exc:
                if exc.code != "ResourceNotFoundException":
                    raise
                current.append(0)
        with aws_errors("GetAccountSettings"):
            limit = aws.lambda_.get_account_settings()["AccountLimit"]
    except AwsError as exc:
        return Check.fail(name, str(exc), "lambda:GetAccountSettings and GetFunctionConcurrency")
    unreserved = limit.get("UnreservedConcurrentExecutions", 0)
    needed, largest = reserved_fit(unreserved, current, asked)
    left = unreserved - needed
    detail = (
        f"{unreserved} of {limit.get('ConcurrentExecutions', '?')} unreserved; the stack "
        f"reserves {asked} for each of {len(_RESERVING)} functions ({needed} more): {left} left"
    )
    if left >= UNRESERVED_FLOOR:
        return Check.ok(name, detail)
    lower = f"lower reservedConcurrency to {largest} in the context, or " if largest else ""
    return Check.fail(
        name,
        f"{detail}, below AWS's floor of {UNRESERVED_FLOOR}",
        f"{lower}raise the account's Lambda quota 'Concurrent executions' (Service Quotas)",
    )
