"""``query-migrate preflight``: what the account must satisfy before the next deploy step."""

from __future__ import annotations

from dataclasses import dataclass, field

from query_migrate.commands._options import ContextOptions, Inputs, command, option
from query_migrate.commands._reporter import Reporter
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
        "TargetGroupArn",
        "EcsClusterName",
        "EcsServiceName",
        "AlarmNames",
        "QueryLambdaAliasArn",
    ),
)
def preflight(options: PreflightOptions) -> int:
    """Check what the running account must satisfy before the next deploy step.

    \b
    Checks, each when its inputs are known (else listed as skipped):
      the results table's key schema and marketing_id-index;
      the VPC's endpoints against existingVpcEndpoints, and private DNS on execute-api;
      the Query Lambda's security group reaching its current target (trafficTarget);
      the ECS service steady and the ALB's targets healthy;
      the stack's alarms in OK;
      the existing public API's integrations being ones attach can repoint, and each
      method's authorizer (NONE fails unless --allow-unauthenticated).

    Prints a ✓/✗ table with the fix for every ✗; exit 1 when any check fails.
    """
    inputs = Inputs.load(options)
    checks = run_preflight(
        inputs.aws,
        inputs.outputs,
        inputs.context,
        api_id=options.api_id,
        allow_unauthenticated=options.allow_unauthenticated,
    )
    return Reporter(as_json=options.as_json).checks("preflight", checks)
