"""``query-migrate attach``: the existing public API's integrations -> the alias live."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import click
from rich.json import JSON

from query_migrate._errors import MigrateError
from query_migrate._names import DEFAULT_PUBLIC_API_PATHS
from query_migrate.attach import apply_attach, invoked_function, plan_attach, refuse_undetached
from query_migrate.commands._options import ContextOptions, Inputs, command, option
from query_migrate.commands._reporter import Reporter, change_table


@dataclass(frozen=True, kw_only=True)
class AttachOptions(ContextOptions):
    api_id: str | None = field(
        metadata=option(
            "--api-id", help="the existing public REST API (default: context existingPublicApiId)"
        )
    )
    api_stage: str | None = field(
        metadata=option(
            "--api-stage", help="its stage (default: context existingPublicApiStage, else prod)"
        )
    )
    paths: tuple[str, ...] = field(
        metadata=option(
            "--path",
            multiple=True,
            help="a resource path the API proxies (repeatable; default: context "
            "existingPublicApiPaths, else " + ", ".join(DEFAULT_PUBLIC_API_PATHS) + ")",
        )
    )
    record: Path | None = field(
        metadata=option(
            "--record",
            type=click.Path(dir_okay=False, path_type=Path),
            help="where to write the record detach needs (default: attach-API-STAGE.json)",
        )
    )
    dry_run: bool = field(
        metadata=option("--dry-run", is_flag=True, help="print the change; change nothing")
    )


@command(AttachOptions, outputs=("QueryLambdaAliasArn",))
def attach(options: AttachOptions) -> int:
    """Repoint the existing public API at the new Query Lambda's alias live, and deploy it.

    Each Lambda proxy integration of the API's paths gets the alias as its URI; every other
    field stays as it is. Before changing anything, the record of each integration as it was
    is written to --record (keep it: detach reads it). Refuses a missing path, a non-Lambda
    integration, a field it cannot write back, or an alias without permission for the API.
    """
    inputs = Inputs.load(options)
    api = inputs.context.existing_api(options.api_id, options.api_stage, options.paths)
    if api is None:
        raise MigrateError("--api-id is needed (or context existingPublicApiId)")
    alias_arn = inputs.outputs.require("QueryLambdaAliasArn")
    plan = plan_attach(inputs.aws, api, alias_arn=alias_arn)
    record = options.record or Path(f"attach-{api.api_id}-{api.stage}.json")
    report = Reporter(as_json=options.as_json)
    if not plan.to_attach:
        report.result(
            {"command": "attach", "ok": True, "changed": False, **plan.as_json()},
            f"already attached: every integration invokes {alias_arn}",
        )
        return 0
    if not options.dry_run:
        refuse_undetached(record)
    rows = [
        (m.label, invoked_function(str(m.integration.get("uri"))), invoked_function(alias_arn))
        for m in plan.to_attach
    ]
    report.say(change_table(f"attach {api.api_id}/{api.stage}", "after attach", rows))
    if options.dry_run:
        report.result(
            {"command": "attach", "ok": True, "dryRun": True, **plan.as_json()},
            "dry run: nothing changed",
        )
        return 0
    written = apply_attach(inputs.aws, plan, record)
    report.result(
        {"command": "attach", "ok": True, "changed": True, "record": str(record), **written},
        f"attached; stage {api.stage} deployed ({written['deploymentId']}); "
        f"the record for detach is {record}:",
        JSON(json.dumps(written)),
    )
    return 0
