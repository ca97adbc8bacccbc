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
    for column in ("method", "integration URI now", after):
        table.add_column(column)
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
    from query_migrate.attach import apply_attach, load_record, plan_attach

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
        rows = [(m.label, str(m.integration.get("uri")), plan.new_uri) for m in plan.to_attach]
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
    from query_migrate.attach import apply_detach, load_record, plan_detach

    inputs = Inputs(options)
    data = load_record(record)
    steps = plan_detach(inputs.aws, data, force=force)
    console = _console()
    if not inputs.as_json:
        table = Table(title=f"detach {data['apiId']}/{data['stage']}", title_justify="left")
        for column in ("method", "integration URI now", "restored to"):
            table.add_column(column)
        for step in steps:
            note = " (changed since attach)" if step.changed_since_attach else ""
            table.add_row(
                step.method.label, step.current_uri + note, str(step.method.integration.get("uri"))
            )
        console.print(table)
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
