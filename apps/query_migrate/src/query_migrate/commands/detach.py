"""``query-migrate detach``: the rollback of attach, the recorded integrations restored."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from query_migrate.attach import invoked_function, load_record
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
            help="restore the record even where the integration changed since attach",
        )
    )


@command(DetachOptions)
def detach(options: DetachOptions) -> int:
    """Put back the integrations attach recorded in RECORD, exactly, and deploy the stage.

    Refuses when an integration changed since attach (somebody else repointed it) unless
    --force. After restoring, each integration is read back and compared with the record byte
    for byte; exit 1 if any differs.
    """
    inputs = Inputs.load(options)
    data = load_record(options.record)
    steps = plan_detach(inputs.aws, data, force=options.force)
    report = Reporter(as_json=options.as_json)
    rows = [
        (
            step.method.label,
            invoked_function(step.current_uri)
            + (" (changed since attach)" if step.changed_since_attach else ""),
            invoked_function(str(step.method.integration.get("uri"))),
        )
        for step in steps
    ]
    report.say(change_table(f"detach {data['apiId']}/{data['stage']}", "restored to", rows))
    if options.dry_run:
        methods = [step.method.label for step in steps]
        report.result(
            {"command": "detach", "ok": True, "dryRun": True, "methods": methods},
            "dry run: nothing changed",
        )
        return 0
    problems = apply_detach(inputs.aws, data, steps, options.record)
    done = (
        f"detached; every integration is the recorded one, byte for byte; stage "
        f"{data['stage']} deployed ({data['detachDeploymentId']})"
    )
    report.result(
        {
            "command": "detach",
            "ok": not problems,
            "problems": problems,
            "record": str(options.record),
        },
        *([f"[red]✗[/] {problem}" for problem in problems] or [done]),
    )
    return 1 if problems else 0
