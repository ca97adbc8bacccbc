"""``query-migrate attach``: the existing public API's integrations -> the alias live."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.json import JSON

from query_migrate._errors import MigrateError
from query_migrate._inputs import ExistingApi
from query_migrate._names import DEFAULT_PUBLIC_API_PATHS
from query_migrate._restapi import invoked_function
from query_migrate.attach import apply_attach, plan_attach, refuse_undetached
from query_migrate.auth import refuse_unauthenticated
from query_migrate.commands._options import ContextOptions, Inputs, command, option
from query_migrate.commands._reporter import Reporter, change_table
from query_migrate.retire import is_marketing


@dataclass(frozen=True, kw_only=True)
class ApiOptions(ContextOptions):
    """The existing public API, and how a change to it is made."""

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
            help="where to write the record detach needs (default: <command>-API-STAGE.json)",
        )
    )
    dry_run: bool = field(
        metadata=option(
            "--dry-run", is_flag=True, help="print the change and the API's hash; change nothing"
        )
    )
    plan_hash: str | None = field(
        metadata=option(
            "--plan-hash",
            metavar="HASH",
            help="the hash --dry-run printed: refuse if the API is no longer what was reviewed",
        )
    )
    allow_unauthenticated: bool = field(
        metadata=option(
            "--allow-unauthenticated",
            is_flag=True,
            help="repoint methods whose authorizationType is NONE (anyone may call them; "
            "docs/security.md#the-existing-public-api)",
        )
    )
    force: bool = field(
        metadata=option(
            "--force",
            is_flag=True,
            help="change the API even when it changed since the plan or has undeployed changes "
            "(retire-marketing: or the path is still used)",
        )
    )


def existing_api(inputs: Inputs, options: ApiOptions) -> ExistingApi:
    api = inputs.context.existing_api(options.api_id, options.api_stage, options.paths)
    if api is None:
        raise MigrateError("--api-id is needed (or context existingPublicApiId)")
    return api


def attach_paths(
    name: str,
    options: ApiOptions,
    inputs: Inputs,
    api: ExistingApi,
    *,
    extra: dict[str, Any] | None = None,
    refusal: str = "",
) -> int:
    """Plan, show, and (unless --dry-run) apply ``attach`` of ``api``'s paths; the exit code.
    ``extra`` goes into the JSON result; ``refusal`` is why the caller would refuse (a dry run
    then exits 1, as the change would)."""
    extra = extra or {}
    alias_arn = inputs.outputs.require("QueryLambdaAliasArn")
    plan = plan_attach(inputs.aws, api, alias_arn=alias_arn)
    record = options.record or Path(f"{name}-{api.api_id}-{api.stage}.json")
    report = Reporter(as_json=options.as_json)
    if not plan.to_attach:
        report.result(
            {"command": name, **extra, "ok": True, "changed": False, **plan.as_json()},
            f"already attached: every integration invokes {alias_arn}",
        )
        return 0
    for auth in plan.auth:
        report.say(f"authorization: {auth.describe()}")
    refuse_unauthenticated(plan.auth, allowed=options.allow_unauthenticated)
    if not options.dry_run:
        refuse_undetached(record)
    rows = [
        (m.label, invoked_function(str(m.integration.get("uri"))), invoked_function(alias_arn))
        for m in plan.to_attach
    ]
    report.say(change_table(f"{name} {api.api_id}/{api.stage}", f"after {name}", rows))
    for item in plan.grants:
        report.say(f"grant: stage {item.stage} may invoke the alias ({item.source_arn})")
    for line in plan.undeployed:
        report.say(f"[red]✗[/] not deployed yet: {line}")
    if options.dry_run:
        refused = not options.force and bool(refusal or plan.undeployed)
        verdict = f"{name} would refuse without --force; " if refused else ""
        report.result(
            {"command": name, **extra, "ok": not refused, "dryRun": True, **plan.as_json()},
            f"dry run: nothing changed; {verdict}API hash {plan.api_hash} "
            f"(apply with --plan-hash {plan.api_hash})",
        )
        return 1 if refused else 0
    written = apply_attach(
        inputs.aws, plan, record, force=options.force, expected_hash=options.plan_hash
    )
    report.result(
        {
            "command": name,
            **extra,
            "ok": True,
            "changed": True,
            "record": str(record),
            "authorization": plan.as_json()["authorization"],
            **written,
        },
        f"{name}: done; stage {api.stage} deployed ({written['deploymentId']}); "
        f"the record for detach is {record}:",
        JSON(json.dumps(written)),
    )
    return 0


@command(ApiOptions, outputs=("QueryLambdaAliasArn",))
def attach(options: ApiOptions) -> int:
    """Repoint the existing public API at the new Query Lambda's alias live, and deploy it.

    Each Lambda proxy integration of the API's paths gets the alias as its URI; every other
    field stays as it is. /query/marketing and below are left to retire-marketing. Before
    changing anything, the record of each integration as it was, and of the deployment the
    stage was on, is written to --record (keep it: detach reads it). The API's other stages
    get the alias's permission too. Reports each method's authorizer, and refuses a method
    anyone may call (authorizationType NONE) unless --allow-unauthenticated. Refuses a missing
    path, a non-Lambda integration, a field
    it cannot write back, an alias without permission for the stage; and, unless --force, an
    API that changed since the plan (its hash, read again; --plan-hash for a reviewed
    --dry-run) or that has changes not yet deployed (the deployment would publish them).
    """
    inputs = Inputs.load(options)
    api = existing_api(inputs, options)
    kept = tuple(path for path in api.paths if not is_marketing(path))
    if not kept:
        raise MigrateError("no path to attach: /query/marketing is retire-marketing's step")
    return attach_paths("attach", options, inputs, ExistingApi(api.api_id, api.stage, kept))
