"""``query-migrate smoke``: every hop reachable from here, and the logs that prove it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import click

from query_migrate.commands._options import TIMEOUT, ContextOptions, Inputs, command, option
from query_migrate.commands._reporter import Reporter
from query_migrate.phase_checks import read_phase
from query_migrate.smoke import SmokePlan, run_smoke, smoke_plan, smoke_targets
from query_migrate.smoke_direct import direct_accepted
from query_migrate.smoke_identity import owner_checked
from query_migrate.smoke_logs import log_source


@dataclass(frozen=True, kw_only=True)
class SmokeOptions(ContextOptions):
    user: str = field(
        metadata=option(
            "--user",
            default="smoke-user",
            show_default=True,
            help="user_id of the page requests (a known user shows items)",
        )
    )
    identity: str | None = field(
        metadata=option(
            "--identity",
            metavar="USER",
            help="the test identity alias live is invoked as (default: the context's "
            "canaryTestUserId)",
        )
    )
    alb_url: str | None = field(
        metadata=option(
            "--alb-url",
            metavar="URL",
            help="also call the internal ALB (only from a host its security group admits)",
        )
    )
    headers: tuple[str, ...] = field(
        metadata=option(
            "-H",
            "--header",
            multiple=True,
            metavar="'NAME: VALUE'",
            help="a header for the public URL, e.g. a token (repeatable)",
        )
    )
    public_auth: str | None = field(
        metadata=option(
            "--public-auth",
            type=click.Choice(["none", "iam"]),
            default=None,
            help="sign the public requests (default: iam when the stack's PublicApiAuth "
            "output is iam, else none)",
        )
    )
    internal_auth: str = field(
        metadata=option(
            "--internal-auth",
            type=click.Choice(["none", "iam"]),
            default="iam",
            show_default=True,
            help="sign the private API's requests (SigV4)",
        )
    )
    log_dir: Path | None = field(
        metadata=option(
            "--log-dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="look for the request id in the local chain's log files "
            "(nox -s serve -- --log-dir DIR) instead of CloudWatch Logs",
        )
    )
    log_wait: float = field(
        metadata=option(
            "--log-wait",
            type=click.FloatRange(0),
            default=60.0,
            show_default=True,
            help="seconds to wait for the log lines to arrive",
        )
    )
    timeout: float = field(metadata=TIMEOUT)


@command(
    SmokeOptions,
    outputs=(
        "PublicApiUrl",
        "ServiceUrl",
        "InternalApiUrl",
        "QueryResultFunctionName",
        "LogGroupNames",
        "QueryLambdaFunctionName",
        "QueryLambdaAliasArn",
        "TargetGroupArn",
        "CodeDeployApplicationName",
        "CodeDeployDeploymentGroupName",
    ),
)
def smoke(options: SmokeOptions) -> int:
    """Walk every hop reachable from here, with its latency and verdict, then find the logs.

    The public URL is --public-url, else the stack's PublicApiUrl, else the existing public
    API's (existingPublicApiId and existingPublicApiStage in the context).

    \b
    public URL   a page for --user, /query/marketing -> 410, a bad body -> 422,
                 /health not public (the Query Lambda's 404, or API Gateway's own 403
                 where the API has no such route), each echoing its X-Request-Id; send
                 the credentials clients send (-H 'Authorization: ...', --public-auth)
    alias live   invoked as the test identity (--identity, else the context's
                 canaryTestUserId), as the public API would send it: two pages
                 (next_token followed), /query/marketing, and another user's page -> 403
                 (a 200 means the owner check is off); the whole new path, from anywhere
    ALB          with --alb-url only: /health -> 200 and a page (or 403 without a caller)
    private API  a page, SigV4-signed                (else "not reachable from here")
    Lambda       a direct invocation of the Query Result Lambda: a 200 envelope with
                 enableLambdaRollbackSource in the context, else refused (4xx)
    logs         the public page's request id in the Query Lambda's, the service's and the
                 Query Result Lambda's log (CloudWatch Logs, or --log-dir locally)

    With --stack or --query-lambda, the phase is read from the account first and sets what
    the public URL must show: before attach (no stack, deployed (eks)) it reaches the old
    Query Lambda, so /query/marketing is still served (not 410, not 5xx) and no new log is
    searched; attached: only the Query Lambda's log; canary: the service's and the Query
    Result Lambda's logs when the canary chose ECS; ecs, eks gone: every log. Marketing is
    410 once its methods invoke alias live. Alias live leads to EKS while deployed (eks) and
    attached (marketing still served there, the other user's 403 not required), to either
    side in the canary, to the service after. Without either, the final state is expected.

    A hop inside the VPC (ALB, private API) not reachable from where the tool runs is not
    a failure; the public URL is (clients reach it from anywhere), and so is its 401/403 to
    a page (the credentials sent are not the test identity's). Exit 1 on any ✗.
    """
    inputs = Inputs.load(options)
    shown = []
    plan = SmokePlan()
    if inputs.outputs.stack or inputs.outputs.get("QueryLambdaFunctionName"):
        phase, facts, check = read_phase(inputs.aws, inputs.outputs, inputs.context)
        shown.append(check)
        plan = smoke_plan(phase, facts.marketing_on_alias if facts else None)
    plan = replace(
        plan,
        owner_check=owner_checked(inputs.context),
        direct_accepted=direct_accepted(inputs.context),
    )
    targets = smoke_targets(
        inputs.aws,
        inputs.outputs,
        inputs.context,
        headers=options.headers,
        auth=options.public_auth,
        internal_auth=options.internal_auth,
        alb_url=options.alb_url,
        identity=options.identity,
    )
    checks, stem = run_smoke(
        inputs.aws,
        targets,
        user=options.user,
        logs=log_source(inputs.aws, inputs.outputs, options.log_dir),
        log_wait=options.log_wait,
        timeout=options.timeout,
        plan=plan,
    )
    return Reporter(as_json=options.as_json).checks(
        "smoke", [*shown, *checks], title=f"smoke ({stem}-*)", latency=True, request_id_prefix=stem
    )
