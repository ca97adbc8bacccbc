"""``query-migrate detach``: the rollback of attach, the recorded integrations restored."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import click

from query_migrate._restapi import invoked_function
from query_migrate.attach import load_record
from query_migrate.commands._options import AwsOptions, Inputs, argument, command, option
from query_migrate.commands._reporter import Reporter, change_table
from query_migrate.detach import apply_detach, plan_detach


@dataclass(frozen=True, kw_only=True)
class DetachOptions(AwsOptions):
    record: Path = field(
        metadata=argument(type=click.Path(exists=True, dir_okay=False, path_type=Path))
    )
    dry_run: bool = field(
        metadata=option(
            "--dry-run", is_flag=True, help="print what would be restored; change nothing"
        )
    )
    force: bool = field(
        metadata=option(
            "--force",
            is_flag=True,
            help="restore the record even where the API changed since attach or has "
            "undeployed changes",
        )
    )


@command(DetachOptions)
def detach(options: DetachOptions) -> int:
    """Put back the integrations attach recorded in RECORD, exactly, and the stage's deployment.

    The stage goes back to the deployment it was on before attach (recorded), when it is still
    on attach's; if somebody deployed since, the restored API is deployed instead. The
    permissions attach granted other stages are removed. Refuses, unless --force, when an
    integration changed since attach, when the API's resources, methods or integrations
    changed since attach (their hash, recorded), or when it has undeployed changes. After
    restoring, each integration is read back and compared with the record byte for byte;
    exit 1 if any differs. The region is the record's unless --region is given.
    """
    data = load_record(options.record)
    if options.region is None:
        options = replace(options, region=data["region"])
    inputs = Inputs.load(options)
    plan = plan_detach(inputs.aws, data, force=options.force)
    report = Reporter(as_json=options.as_json)
    rows = [
        (
            step.method.label,
            invoked_function(step.current_uri)
            + (" (changed since attach)" if step.changed_since_attach else ""),
            invoked_function(str(step.method.integration.get("uri"))),
        )
        for step in plan.steps
    ]
    report.say(change_table(f"detach {data['apiId']}/{data['stage']}", "restored to", rows))
    for note in plan.notes:
        report.say(f"[red]✗[/] {note} (--force)")
    if options.dry_run:
        methods = [step.method.label for step in plan.steps]
        report.result(
            {"command": "detach", "ok": True, "dryRun": True, "methods": methods},
            "dry run: nothing changed",
        )
        return 0
    problems = apply_detach(inputs.aws, data, plan, options.record, force=options.force)
    stage = (
        f"stage {data['stage']} back on deployment {data['detachDeploymentId']}, its deployment "
        "before the recorded change"
        if data["stageRestored"] == "previous"
        else f"stage {data['stage']} deployed ({data['detachDeploymentId']}): it had been "
        "deployed since the recorded change"
    )
    done = f"detached; every integration is the recorded one, byte for byte; {stage}"
    report.result(
        {
            "command": "detach",
            "ok": not problems,
            "problems": problems,
            "record": str(options.record),
            "deploymentId": data["detachDeploymentId"],
            "stageRestored": data["stageRestored"],
        },
        *([f"[red]✗[/] {problem}" for problem in problems] or [done]),
    )
    return 1 if problems else 0
