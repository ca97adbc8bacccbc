"""``query-migrate preflight``: what the account must satisfy in its phase, before the next step."""

from __future__ import annotations

from dataclasses import dataclass, field

from query_migrate.commands._options import ContextOptions, Inputs, command, option
from query_migrate.commands._reporter import Reporter
from query_migrate.phase_checks import phase_checks, read_phase
from query_migrate.preflight import run_preflight


@dataclass(frozen=True, kw_only=True)
class PreflightOptions(ContextOptions):
    api_id: str | None = field(
        metadata=option(
            "--api-id", help="the existing public API (default: context existingPublicApiId)"
        )
    )
    allow_unauthenticated: bool = field(
        metadata=option(
            "--allow-unauthenticated",
            is_flag=True,
            help="pass the existing public API's methods whose authorizationType is NONE",
        )
    )


@command(
    PreflightOptions,
    outputs=(
        "ResultsTableName",
        "VpcId",
        "QueryLambdaFunctionName",
        "QueryResultFunctionName",
        "QueryLambdaSecurityGroupId",
        "ServiceUrl",
        "TargetGroupArn",
        "EcsClusterName",
        "EcsServiceName",
        "CodeDeployApplicationName",
        "CodeDeployDeploymentGroupName",
        "AlarmNames",
        "QueryLambdaAliasArn",
    ),
)
def preflight(options: PreflightOptions) -> int:
    """Check what the running account must satisfy in its phase, before the next step.

    First reads the phase from the account: no stack (no alias live), deployed (eks),
    attached, canary, ecs or eks gone (see the runbook). --stack names a stack that may not
    exist yet: that is the phase "no stack".

    \b
    Checks, each when its inputs are known (else listed as skipped):
      the results table's key schema and marketing_id-index;
      the VPC's endpoints against existingVpcEndpoints, and private DNS on execute-api;
      the Query Lambda's security group reaching its current target (trafficTarget);
      the ECS service steady and the ALB's targets healthy;
      the stack's alarms in OK;
      the existing public API's integrations being ones attach can repoint, and each
      method's authorizer (NONE fails unless --allow-unauthenticated);
      once traffic moves (canary, ecs, eks gone): the public API invoking alias live;
      while alias live may lead to EKS: oldEksHandlerPeer's group admitting the Query
      Lambda's security group on oldEksHandlerPort;
      the account's unreserved Lambda concurrency covering reservedConcurrency for each of
      the stack's two functions, with AWS's 100 left over.

    Prints a ✓/✗ table with the fix for every ✗; exit 1 when any check fails.
    """
    inputs = Inputs.load(options)
    aws, outputs, context = inputs.aws, inputs.outputs, inputs.context
    phase, facts, shown = read_phase(aws, outputs, context)
    checks = [
        shown,
        *run_preflight(
            aws,
            outputs,
            context,
            api_id=options.api_id,
            allow_unauthenticated=options.allow_unauthenticated,
        ),
    ]
    if phase is not None and facts is not None:
        checks += phase_checks(aws, outputs, context, phase, facts)
    return Reporter(as_json=options.as_json).checks("preflight", checks, phase=phase and str(phase))
