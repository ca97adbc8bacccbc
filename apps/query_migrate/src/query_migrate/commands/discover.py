"""``query-migrate discover``: write the CDK context from what the running account says."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from query_migrate._aws import Aws
from query_migrate._errors import MigrateError, RefusedError
from query_migrate._inputs import Context
from query_migrate.commands._options import AwsOptions, command, context_region, option
from query_migrate.commands._reporter import Reporter
from query_migrate.discover import context_text, diff, merged
from query_migrate.discover import discover as find_context


@dataclass(frozen=True, kw_only=True)
class DiscoverOptions(AwsOptions):
    api_id: str = field(
        metadata=option("--api-id", required=True, help="the public REST API clients call")
    )
    api_stage: str = field(
        metadata=option("--api-stage", default="prod", show_default=True, help="its stage")
    )
    output: Path = field(
        metadata=option(
            "--output",
            type=click.Path(dir_okay=False, path_type=Path),
            default=Path("infra/cdk.context.json"),
            show_default=True,
            help="the context file to write (its other keys are kept)",
        )
    )
    force: bool = field(
        metadata=option("--force", is_flag=True, help="write over an existing, different file")
    )
    dry_run: bool = field(
        metadata=option("--dry-run", is_flag=True, help="print the context; write nothing")
    )


def _existing(path: Path) -> tuple[str, dict[str, Any]]:
    if not path.exists():
        return "", {}
    text = path.read_text()
    try:
        loaded = json.loads(text)
    except ValueError as exc:
        raise MigrateError(f"{path}: not JSON ({exc}); move it away or fix it") from exc
    if not isinstance(loaded, dict) or "context" in loaded:
        raise MigrateError(f"{path}: not a cdk.context.json (a JSON object of context keys)")
    return text, loaded


@command(DiscoverOptions, without=("stack",))
def discover(options: DiscoverOptions) -> int:
    """Find the CDK context's values in the running account and write the context file.

    From the public API's id and stage: the Lambda proxy integrations lead to the old Query
    Lambda, whose configuration gives the VPC, the private subnets (their zones and route
    tables: the explicit association, else the VPC's main one), the EKS handler's URL and port,
    the results table (its environment), and the security group admitting it at that port
    (oldEksHandlerPeer); the VPC gives its CIDRs (every associated block) and existing
    endpoints. Read-only. Each value names its source; what was not found is listed with how
    to find it. Refuses to write over a different --output unless --force (the diff is
    shown). The region: --region, else the --output file's region, else AWS_REGION.
    """
    before, existing = _existing(options.output)
    region = context_region(options.region, Context(existing))
    aws = Aws(region=region, profile=options.profile, endpoint_url=options.endpoint_url)
    found = find_context(aws, options.api_id, options.api_stage)
    context = merged(existing, found)
    after = context_text(context)
    changes = diff(str(options.output), before, after) if before else ""
    report = Reporter(as_json=options.as_json)
    table = Table(title=f"discover {options.api_id}/{options.api_stage}", title_justify="left")
    for column in ("key", "value", "source"):
        table.add_column(column, overflow="fold")
    for key, source in found.sources.items():
        table.add_row(key, json.dumps(context[key]), source)
    report.say(table)
    if found.missing:
        lacking = Table(title="not found", title_justify="left")
        lacking.add_column("key")
        lacking.add_column("how to find it", overflow="fold")
        for key, how in found.missing.items():
            lacking.add_row(key, how)
        report.say(lacking)
    if changes:
        report.say(Text(changes))
    unchanged = bool(before) and before == after
    refused = bool(before) and not unchanged and not options.force and not options.dry_run
    payload = {
        "command": "discover",
        "ok": not refused,
        "context": context,
        "sources": found.sources,
        "missing": found.missing,
        "file": str(options.output),
        "diff": changes,
    }
    if refused:
        report.result({**payload, "written": False})
        raise RefusedError(f"{options.output} exists and differs (diff above): --force to write")
    written = not options.dry_run and not unchanged
    if written:
        options.output.parent.mkdir(parents=True, exist_ok=True)
        options.output.write_text(after)
    verdict = (
        f"{options.output} is up to date"
        if unchanged
        else f"wrote {options.output}"
        if written
        else f"dry run: {options.output} not written"
    )
    report.result({**payload, "written": written}, verdict)
    return 0
