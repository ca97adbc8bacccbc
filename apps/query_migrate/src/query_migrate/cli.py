"""The ``query-migrate`` command line: parse options, call the step's module, print the result.

Exit codes, the same for every command, so that a pipeline can gate on them:
0 everything checked holds (or the change was made and verified); 1 something checked does
not hold, a comparison found a mismatch, or the tool refused a change; 2 the command could
not do its work (a missing input, an AWS error, a usage error).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from query_migrate._aws import Aws
from query_migrate._checks import checks_json, checks_table, overall_ok
from query_migrate._errors import MigrateError, RefusedError
from query_migrate._inputs import DEFAULT_PUBLIC_API_PATHS, OUTPUT_OPTIONS, Outputs, parse_context

__all__ = ["cli", "main"]

_HELP_OUTPUT = {
    "QueryLambdaAliasArn": "ARN of the Query Lambda's alias live",
    "QueryLambdaFunctionName": "name of the (new) Query Lambda function",
    "QueryResultFunctionName": "name of the Query Result Lambda function",
    "InternalApiUrl": "base URL of the private API, stage included",
    "ServiceUrl": "base URL of the ECS service (the internal ALB)",
    "PublicApiUrl": "base URL of the public API, stage included",
    "ResultsTableName": "DynamoDB results table",
    "EcsClusterName": "ECS cluster",
    "EcsServiceName": "ECS service",
    "TargetGroupArn": "the ALB target group of the ECS service",
    "CodeDeployApplicationName": "CodeDeploy application of the Query Lambda",
    "CodeDeployDeploymentGroupName": "its deployment group",
    "AlarmNames": "alarm names, comma-separated",
    "LogGroupNames": "log groups, hop=name comma-separated",
    "QueryLambdaSecurityGroupId": "the Query Lambda's security group",
    "VpcId": "the VPC the stack is deployed in",
}


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _print_json(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2, default=str))


def aws_options[F: Callable[..., Any]](function: F) -> F:
    """--stack, --region, --profile, --endpoint-url and --json, on every AWS command."""
    options = [
        click.option("--stack", metavar="NAME", help="read URLs/ARNs from this stack's outputs"),
        click.option("--region", metavar="REGION", help="AWS region (default: AWS_REGION)"),
        click.option("--profile", metavar="NAME", help="AWS profile (default: AWS_PROFILE)"),
        click.option(
            "--endpoint-url",
            metavar="URL",
            help="send every AWS call here (an emulator); default: AWS's endpoints",
        ),
        click.option("--json", "as_json", is_flag=True, help="print JSON for a pipeline"),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def output_options[F: Callable[..., Any]](*names: str) -> Callable[[F], F]:
    """One option per stack output the command reads; an option wins over the output."""

    def decorate(function: F) -> F:
        for name in reversed(names):
            function = click.option(
                OUTPUT_OPTIONS[name],
                f"output_{name}",
                metavar="VALUE",
                help=f"{_HELP_OUTPUT[name]} (stack output {name})",
            )(function)
        return function

    return decorate


def context_options[F: Callable[..., Any]](function: F) -> F:
    function = click.option(
        "-c",
        "--context",
        "context_pairs",
        multiple=True,
        metavar="KEY=VALUE",
        help="a CDK context key, as for cdk deploy -c (repeatable)",
    )(function)
    return click.option(
        "--context-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="the CDK context as JSON (cdk.json, cdk.context.json)",
    )(function)


class Inputs:
    """What every command was given: AWS access, the stack's outputs, the CDK context."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.as_json: bool = options.pop("as_json", False)
        self.aws = Aws(
            region=options.pop("region", None),
            profile=options.pop("profile", None),
            endpoint_url=options.pop("endpoint_url", None),
        )
        overrides = {
            key.removeprefix("output_"): options.pop(key)
            for key in list(options)
            if key.startswith("output_")
        }
        self.outputs = Outputs.load(self.aws, options.pop("stack", None), overrides)
        self.context = parse_context(
            options.pop("context_file", None), options.pop("context_pairs", ())
        )


def handle_errors(function: Callable[..., int]) -> Callable[..., None]:
    """Run a command; its return value is the exit code; MigrateError is one line on stderr."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            code = function(*args, **kwargs)
        except MigrateError as exc:
            click.echo(f"query-migrate: {exc}", err=True)
            sys.exit(exc.exit_code)
        sys.exit(code)

    return wrapper


@click.group(
    context_settings={
        "help_option_names": ["-h", "--help"],
        "auto_envvar_prefix": "QUERY_MIGRATE",
        "max_content_width": 100,
    }
)
@click.version_option(package_name="query-migrate")
def cli() -> None:
    """The cutover from EKS to ECS Fargate, one command per step of the runbook.

    \b
      preflight   before each deploy: what the account must satisfy, with a fix per ✗
      smoke       after a deploy: every hop reachable from here, and the logs that prove it
      shadow      before the switch: old path and new path side by side, compared
      attach      the switch: the existing public API's integrations -> the alias live
      status      while it moves: alias weights, CodeDeploy, alarms, per-version metrics
      detach      the rollback of attach: the recorded integrations, restored exactly

    Every URL/ARN comes from the stack's outputs (--stack NAME) or its own option; every
    option can also be set as QUERY_MIGRATE_<COMMAND>_<OPTION> (e.g.
    QUERY_MIGRATE_PREFLIGHT_STACK). Exit codes: 0 everything checked holds; 1 something does
    not hold (a ✗, a mismatch, a refusal); 2 the command could not run.
    """


@cli.command()
@aws_options
@context_options
@output_options(
    "ResultsTableName",
    "VpcId",
    "QueryLambdaFunctionName",
    "TargetGroupArn",
    "EcsClusterName",
    "EcsServiceName",
    "AlarmNames",
    "QueryLambdaAliasArn",
)
@click.option("--api-id", help="the existing public API (default: context existingPublicApiId)")
@handle_errors
def preflight(api_id: str | None, **options: Any) -> int:
    """Check what the running account must satisfy before the next deploy step.

    \b
    Checks, each when its inputs are known (else listed as skipped):
      the results table's key schema and marketing_id-index;
      the VPC's endpoints against existingVpcEndpoints, and private DNS on execute-api;
      the Query Lambda's security group reaching its current target (trafficTarget);
      the ECS service steady and the ALB's targets healthy;
      the stack's alarms in OK;
      the existing public API's integrations being ones attach can repoint.

    Prints a ✓/✗ table with the fix for every ✗; exit 1 when any check fails.
    """
    from query_migrate.preflight import run_preflight

    inputs = Inputs(options)
    checks = run_preflight(inputs.aws, inputs.outputs, inputs.context, api_id=api_id)
    if inputs.as_json:
        _print_json(checks_json("preflight", checks))
    else:
        _console().print(checks_table("preflight", checks))
    return 0 if overall_ok(checks) else 1


def _api_options[F: Callable[..., Any]](function: F) -> F:
    for option in reversed(
        [
            click.option(
                "--api-id",
                help="the existing public REST API (default: context existingPublicApiId)",
            ),
            click.option(
                "--api-stage",
                help="its stage (default: context existingPublicApiStage, else prod)",
            ),
            click.option(
                "--path",
                "paths",
                multiple=True,
                help="a resource path the API proxies (repeatable; default: context "
                "existingPublicApiPaths, else " + ", ".join(DEFAULT_PUBLIC_API_PATHS) + ")",
            ),
        ]
    ):
        function = option(function)
    return function


def _change_table(title: str, after: str, rows: list[tuple[str, str, str]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("method", "invokes now", after):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


@cli.command()
@aws_options
@context_options
@output_options("QueryLambdaAliasArn")
@_api_options
@click.option(
    "--record",
    type=click.Path(dir_okay=False, path_type=Path),
    help="where to write the record detach needs (default: attach-API-STAGE.json)",
)
@click.option("--dry-run", is_flag=True, help="print the change; change nothing")
@handle_errors
def attach(
    api_id: str | None,
    api_stage: str | None,
    paths: tuple[str, ...],
    record: Path | None,
    dry_run: bool,
    **options: Any,
) -> int:
    """Repoint the existing public API at the new Query Lambda's alias live, and deploy it.

    Each Lambda proxy integration of the API's paths gets the alias as its URI; every other
    field stays as it is. Before changing anything, the record of each integration as it was
    is written to --record (keep it: detach reads it). Refuses a missing path, a non-Lambda
    integration, a field it cannot write back, or an alias without permission for the API.
    """
    from query_migrate.attach import apply_attach, invoked_function, load_record, plan_attach

    inputs = Inputs(options)
    api = api_id or inputs.context.string("existingPublicApiId")
    if not api:
        raise MigrateError("--api-id is needed (or context existingPublicApiId)")
    stage = api_stage or inputs.context.string("existingPublicApiStage") or "prod"
    path_list = list(paths) or inputs.context.strings(
        "existingPublicApiPaths", DEFAULT_PUBLIC_API_PATHS
    )
    alias_arn = inputs.outputs.require("QueryLambdaAliasArn")
    plan = plan_attach(inputs.aws, api_id=api, stage=stage, paths=path_list, alias_arn=alias_arn)
    record_path = record or Path(f"attach-{api}-{stage}.json")
    console = _console()
    if not plan.to_attach:
        if inputs.as_json:
            _print_json({"command": "attach", "ok": True, "changed": False, **plan.as_json()})
        else:
            console.print(f"already attached: every integration invokes {alias_arn}")
        return 0
    if not dry_run and record_path.exists():
        previous = load_record(record_path)
        if not previous.get("detachedAt"):
            raise RefusedError(
                f"{record_path} holds an attach that was not detached; detach it first, "
                "or give another --record"
            )
    if not inputs.as_json:
        rows = [
            (m.label, invoked_function(str(m.integration.get("uri"))), invoked_function(alias_arn))
            for m in plan.to_attach
        ]
        console.print(_change_table(f"attach {api}/{stage}", "after attach", rows))
    if dry_run:
        if inputs.as_json:
            _print_json({"command": "attach", "ok": True, "dryRun": True, **plan.as_json()})
        else:
            console.print("dry run: nothing changed")
        return 0
    written = apply_attach(inputs.aws, plan, record_path)
    if inputs.as_json:
        _print_json(
            {
                "command": "attach",
                "ok": True,
                "changed": True,
                "record": str(record_path),
                **written,
            }
        )
    else:
        console.print(
            f"attached; stage {stage} deployed ({written['deploymentId']}); "
            f"the record for detach is {record_path}:"
        )
        console.print_json(json.dumps(written))
    return 0


@cli.command()
@aws_options
@click.argument("record", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="print what would be restored; change nothing")
@click.option(
    "--force",
    is_flag=True,
    help="restore the record even where the integration changed since attach",
)
@handle_errors
def detach(record: Path, dry_run: bool, force: bool, **options: Any) -> int:
    """Put back the integrations attach recorded in RECORD, exactly, and deploy the stage.

    Refuses when an integration changed since attach (somebody else repointed it) unless
    --force. After restoring, each integration is read back and compared with the record byte
    for byte; exit 1 if any differs.
    """
    from query_migrate.attach import apply_detach, invoked_function, load_record, plan_detach

    inputs = Inputs(options)
    data = load_record(record)
    steps = plan_detach(inputs.aws, data, force=force)
    console = _console()
    if not inputs.as_json:
        rows = [
            (
                step.method.label,
                invoked_function(step.current_uri)
                + (" (changed since attach)" if step.changed_since_attach else ""),
                invoked_function(str(step.method.integration.get("uri"))),
            )
            for step in steps
        ]
        title = f"detach {data['apiId']}/{data['stage']}"
        console.print(_change_table(title, "restored to", rows))
    if dry_run:
        if inputs.as_json:
            _print_json(
                {
                    "command": "detach",
                    "ok": True,
                    "dryRun": True,
                    "methods": [s.method.label for s in steps],
                }
            )
        else:
            console.print("dry run: nothing changed")
        return 0
    problems = apply_detach(inputs.aws, data, steps, record)
    if inputs.as_json:
        _print_json(
            {"command": "detach", "ok": not problems, "problems": problems, "record": str(record)}
        )
    elif problems:
        for problem in problems:
            console.print(f"[red]✗[/] {problem}")
    else:
        console.print(
            f"detached; every integration is the recorded one, byte for byte; stage "
            f"{data['stage']} deployed ({data['detachDeploymentId']})"
        )
    return 1 if problems else 0


def main() -> None:
    """The console script ``query-migrate``."""
    cli()


def _signer(inputs: Inputs) -> Any:
    """query_http_client's SigV4 signer (execute-api) with this session's credentials."""
    from query_http_client.sigv4 import SigV4Signer

    try:
        return SigV4Signer(inputs.aws.region, credentials=inputs.aws.session.get_credentials())
    except ValueError as exc:
        raise MigrateError(str(exc)) from exc


def _read_lines(path: str) -> list[str]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise MigrateError(f"{path}: {exc.strerror}") from exc
    return [line.strip() for line in text.splitlines() if line.strip()]


def _shadow_bodies(
    bodies: str | None, users: str | None, limit: int, ap_id: str | None, repeat: int
) -> list[bytes]:
    if (bodies is None) == (users is None):
        raise click.UsageError("give exactly one of --bodies FILE and --users FILE")
    if bodies is not None:
        lines = _read_lines(bodies)
    else:
        lines = [
            json.dumps({"user_id": user, "limit": limit, **({"ap_id": ap_id} if ap_id else {})})
            for user in _read_lines(str(users))
        ]
    if not lines:
        raise MigrateError("no requests to send: the input is empty")
    return [line.encode() for line in lines] * repeat


@cli.command()
@aws_options
@context_options
@output_options("ServiceUrl")
@click.option(
    "--old",
    metavar="TARGET",
    help="the old path: the EKS handler's base URL, or lambda:FUNCTION for a direct invocation "
    "of the Query Result Lambda (default: context oldEksHandlerUrl)",
)
@click.option(
    "--new",
    metavar="TARGET",
    help="the new path: the ALB's base URL, the private API's URL with its stage, or "
    "lambda:FUNCTION (default: stack output ServiceUrl)",
)
@click.option("--old-sigv4", is_flag=True, help="sign the old side's requests (SigV4, execute-api)")
@click.option("--new-sigv4", is_flag=True, help="sign the new side's requests (the private API)")
@click.option(
    "--bodies",
    metavar="FILE",
    help="JSON lines, one request body of POST /query/result each (- reads stdin)",
)
@click.option("--users", metavar="FILE", help="one user_id a line (- reads stdin)")
@click.option(
    "--limit",
    type=click.IntRange(1, 100),
    default=20,
    show_default=True,
    help="limit of each --users request",
)
@click.option("--ap-id", help="ap_id of each --users request")
@click.option(
    "--repeat",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="send the whole input this many times",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="requests in flight to each side",
)
@click.option(
    "--rate",
    type=click.FloatRange(0),
    default=20.0,
    show_default=True,
    help="requests per second to each side; 0: no limit",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1),
    default=10.0,
    show_default=True,
    help="seconds per HTTP request",
)
@click.option(
    "--follow-pages",
    is_flag=True,
    help="follow next_token page by page (the old side's token to both)",
)
@click.option(
    "--max-pages",
    type=click.IntRange(1),
    default=10,
    show_default=True,
    help="pages per request body at most, with --follow-pages",
)
@click.option(
    "--compare-header",
    "compare_headers",
    multiple=True,
    metavar="NAME",
    help="also compare this response header's value (repeatable)",
)
@click.option(
    "--report",
    "reports",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="write a report with a diff of each mismatch: FILE.md (Markdown) or FILE.html "
    "(repeatable)",
)
@click.option(
    "--run-id", default=None, help="prefix of the X-Request-Id values (default: shadow-TIME)"
)
@handle_errors
def shadow(
    *,
    old: str | None,
    new: str | None,
    old_sigv4: bool,
    new_sigv4: bool,
    bodies: str | None,
    users: str | None,
    limit: int,
    ap_id: str | None,
    repeat: int,
    concurrency: int,
    rate: float,
    timeout: float,
    follow_pages: bool,
    max_pages: int,
    compare_headers: tuple[str, ...],
    reports: tuple[Path, ...],
    run_id: str | None,
    **options: Any,
) -> int:
    """Replay read-only requests against the old path and the new path, and compare them.

    Each request body (JSON lines with --bodies, or one request per user_id with --users) is
    sent to both sides at once, each with its own X-Request-Id. Compared: the status, the body
    (as JSON), Content-Type, Retry-After's presence, and each side echoing its request id; the
    other headers never reach a client of the public API and are not compared. Prints a
    summary (matches, mismatches by kind, errors, p50/p99 of each side) and, with --report, a
    Markdown or HTML file with a readable diff of each mismatch. Exit 1 on any mismatch or
    error.
    """
    import asyncio
    import time as time_module

    from query_migrate import shadow as shadow_module

    inputs = Inputs(options)
    requests = _shadow_bodies(bodies, users, limit, ap_id, repeat)
    if any(report.suffix.lower() not in {".md", ".html", ".htm"} for report in reports):
        raise click.UsageError("--report must end in .md or .html")
    old_target = old or inputs.context.string("oldEksHandlerUrl")
    if not old_target:
        raise MigrateError("--old is needed (or context oldEksHandlerUrl)")
    new_target = new or inputs.outputs.require("ServiceUrl")
    run = run_id or time_module.strftime("shadow-%Y%m%dT%H%M%S")

    def target(spec: str, sigv4: bool) -> shadow_module.Target:
        if spec.startswith("lambda:"):
            return shadow_module.InvokeTarget(spec.removeprefix("lambda:"), inputs.aws)
        if not spec.startswith(("http://", "https://")):
            raise click.UsageError(f"{spec}: a target is an http(s) URL or lambda:FUNCTION")
        signer = None
        if sigv4:
            signer = _signer(inputs)
        return shadow_module.HttpTarget(
            spec, concurrency=concurrency, timeout=timeout, signer=signer
        )

    old_side, new_side = target(old_target, old_sigv4), target(new_target, new_sigv4)
    progress = _progress()
    with progress:
        task = progress.add_task("shadow", total=len(requests), mismatches=0, errors=0)
        counts = {"mismatches": 0, "errors": 0}

        def seen(exchange: shadow_module.Exchange, opened_page: bool) -> None:
            if exchange.error:
                counts["errors"] += 1
            elif exchange.differences:
                counts["mismatches"] += 1
            total = progress.tasks[0].total or 0
            progress.update(task, advance=1, total=total + (1 if opened_page else 0), **counts)

        summary = asyncio.run(
            shadow_module.run_shadow(
                requests,
                old_side,
                new_side,
                concurrency=concurrency,
                rate=rate,
                follow_pages=follow_pages,
                max_pages=max_pages,
                compared_headers=compare_headers,
                run_id=run,
                on_exchange=seen,
            )
        )
    for report in reports:
        render = (
            shadow_module.markdown_report
            if report.suffix.lower() == ".md"
            else shadow_module.html_report
        )
        report.write_text(render(summary), encoding="utf-8")
    if inputs.as_json:
        _print_json({**summary.as_json(), "reports": [str(report) for report in reports]})
    else:
        console = _console()
        console.print(f"old: {summary.old_label}\nnew: {summary.new_label}")
        table = Table(show_header=False)
        table.add_column("", style="bold")
        table.add_column("", justify="right")
        for name, value in shadow_module.summary_rows(summary):
            table.add_row(name, value)
        console.print(table)
        verdict = "[green]no mismatch[/]" if summary.ok else "[red]mismatches or errors[/]"
        console.print(
            f"{verdict}; {summary.requests} requests in {summary.seconds:.1f} s"
            + "".join(f"; report: {report}" for report in reports)
        )
    return 0 if summary.ok else 1


def _progress() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("mismatches {task.fields[mismatches]}, errors {task.fields[errors]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )


@cli.command()
@aws_options
@context_options
@output_options(
    "PublicApiUrl", "ServiceUrl", "InternalApiUrl", "QueryResultFunctionName", "LogGroupNames"
)
@click.option(
    "--user",
    default="smoke-user",
    show_default=True,
    help="user_id of the page requests (a known user shows items)",
)
@click.option(
    "-H",
    "--header",
    "headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="a header for the public URL, e.g. a token (repeatable)",
)
@click.option(
    "--public-auth",
    type=click.Choice(["none", "iam"]),
    default=None,
    help="sign the public requests (default: iam when the stack's PublicApiAuth "
    "output is iam, else none)",
)
@click.option(
    "--internal-auth",
    type=click.Choice(["none", "iam"]),
    default="iam",
    show_default=True,
    help="sign the private API's requests (SigV4)",
)
@click.option(
    "--log-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="look for the request id in the local chain's log files "
    "(nox -s serve -- --log-dir DIR) instead of CloudWatch Logs",
)
@click.option(
    "--log-wait",
    type=click.FloatRange(0),
    default=60.0,
    show_default=True,
    help="seconds to wait for the log lines to arrive",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1),
    default=10.0,
    show_default=True,
    help="seconds per HTTP request",
)
@handle_errors
def smoke(
    *,
    user: str,
    headers: tuple[str, ...],
    public_auth: str | None,
    internal_auth: str,
    log_dir: Path | None,
    log_wait: float,
    timeout: float,
    **options: Any,
) -> int:
    """Walk every hop reachable from here, with its latency and verdict, then find the logs.

    The public URL is --public-url, else the stack's PublicApiUrl, else the existing public
    API's (existingPublicApiId and existingPublicApiStage in the context).

    \b
    public URL   a page for --user, /query/marketing -> 410, a bad body -> 422,
                 /health -> 404 (not public), each echoing its X-Request-Id
    ALB          /health -> 200 and a page           (else "not reachable from here")
    private API  a page, SigV4-signed                (else "not reachable from here")
    Lambda       a direct invocation of the Query Result Lambda -> a 200 envelope
    logs         the public page's request id in the Query Lambda's, the service's and the
                 Query Result Lambda's log (CloudWatch Logs, or --log-dir locally)

    A hop not reachable from where the tool runs is not a failure; exit 1 on any ✗.
    """
    from query_migrate import smoke as smoke_module

    inputs = Inputs(options)
    outputs = inputs.outputs
    try:
        public_headers = smoke_module.parse_headers(headers)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None

    if public_auth is None:
        public_auth = "iam" if outputs.get("PublicApiAuth") == "iam" else "none"
    public_url = outputs.get("PublicApiUrl") or smoke_module.existing_api_url(
        inputs.context, inputs.aws
    )
    targets = smoke_module.SmokeTargets(
        public_url=public_url,
        service_url=outputs.get("ServiceUrl"),
        internal_api_url=outputs.get("InternalApiUrl"),
        query_result_function=outputs.get("QueryResultFunctionName"),
        public_headers=public_headers,
        public_signer=_signer(inputs) if public_auth == "iam" and public_url else None,
        internal_signer=(
            _signer(inputs) if internal_auth == "iam" and outputs.get("InternalApiUrl") else None
        ),
    )
    logs: Any = None
    if log_dir is not None:
        logs = smoke_module.LocalLogs(log_dir)
    elif outputs.mapping("LogGroupNames"):
        logs = smoke_module.CloudWatchLogs(inputs.aws, outputs.mapping("LogGroupNames"))
    checks, stem = smoke_module.run_smoke(
        inputs.aws, targets, user=user, logs=logs, log_wait=log_wait, timeout=timeout
    )
    if inputs.as_json:
        _print_json(checks_json("smoke", checks, request_id_prefix=stem))
    else:
        _console().print(checks_table(f"smoke ({stem}-*)", checks, latency=True))
    return 0 if overall_ok(checks) else 1


@cli.command()
@aws_options
@output_options(
    "QueryLambdaFunctionName",
    "CodeDeployApplicationName",
    "CodeDeployDeploymentGroupName",
    "AlarmNames",
)
@click.option(
    "--minutes",
    type=click.IntRange(1, 1440),
    default=5,
    show_default=True,
    help="the window of the per-version metrics",
)
@click.option("--watch", is_flag=True, help="refresh until Ctrl-C (with --json: a line each time)")
@click.option(
    "--interval",
    type=click.FloatRange(1),
    default=15.0,
    show_default=True,
    help="seconds between refreshes, with --watch",
)
@click.option(
    "--count",
    type=click.IntRange(1),
    default=None,
    help="with --watch: stop after this many refreshes",
)
@handle_errors
def status(*, minutes: int, watch: bool, interval: float, count: int | None, **options: Any) -> int:
    """The traffic switch on one screen: alias weights, CodeDeploy, alarms, per-version metrics.

    Shows the Query Lambda's alias live (its version, and the canary's version and weight),
    the latest CodeDeploy deployment of the deployment group, the stack's alarms, and each
    version's invocations, errors and p99 duration over the last --minutes. Exit 1 when an
    alarm is in ALARM, the latest deployment failed or was stopped, or a call failed (with
    --watch: as of the last refresh).
    """
    import time as time_module

    from rich.live import Live

    from query_migrate.status import collect_status, render_status

    inputs = Inputs(options)
    if not watch:
        current = collect_status(inputs.aws, inputs.outputs, minutes=minutes)
        if inputs.as_json:
            _print_json(current.as_json())
        else:
            _console().print(render_status(current))
        return 0 if current.ok else 1
    refreshes = 0
    current = collect_status(inputs.aws, inputs.outputs, minutes=minutes)
    try:
        if inputs.as_json:
            while True:
                click.echo(json.dumps(current.as_json(), default=str))
                refreshes += 1
                if count is not None and refreshes >= count:
                    break
                time_module.sleep(interval)
                current = collect_status(inputs.aws, inputs.outputs, minutes=minutes)
        else:
            with Live(render_status(current), console=_console(), auto_refresh=False) as live:
                while True:
                    refreshes += 1
                    if count is not None and refreshes >= count:
                        break
                    time_module.sleep(interval)
                    current = collect_status(inputs.aws, inputs.outputs, minutes=minutes)
                    live.update(render_status(current), refresh=True)
    except KeyboardInterrupt:
        pass
    return 0 if current.ok else 1
