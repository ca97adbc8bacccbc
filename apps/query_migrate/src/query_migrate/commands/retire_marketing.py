"""``query-migrate retire-marketing``: the use of /query/marketing, then its 410."""

from __future__ import annotations

from dataclasses import dataclass, field

import click

from query_migrate._errors import MigrateError
from query_migrate._inputs import ExistingApi
from query_migrate._restapi import resources
from query_migrate.commands._options import Inputs, command, option
from query_migrate.commands._reporter import Reporter
from query_migrate.commands.attach import ApiOptions, attach_paths, existing_api
from query_migrate.retire import is_marketing, marketing_use, refuse_used
from query_migrate.smoke_identity import read_identity


@dataclass(frozen=True, kw_only=True)
class RetireOptions(ApiOptions):
    days: int = field(
        metadata=option(
            "--days",
            type=click.IntRange(1, 455),
            default=30,
            show_default=True,
            help="how far back to look for requests",
        )
    )


@command(RetireOptions, outputs=("QueryLambdaAliasArn",))
def retire_marketing(options: RetireOptions) -> int:
    """Retire /query/marketing: its use over the last --days, then the alias answers 410.

    Counts the requests on /query/marketing and below from the stage's detailed CloudWatch
    metrics (Count by Resource and Method), else from its access log; an access log that
    names the caller is preferred, and leaves out the test identity's requests
    (canaryTestUserId: smoke's own); refuses when they were used, or when neither source
    exists, unless --force. Then repoints those integrations at the alias live (whose Query
    Lambda answers 410 there) exactly as attach does, with its own record: `detach RECORD`
    brings the path back, on its own.
    """
    inputs = Inputs.load(options)
    api = existing_api(inputs, options)
    paths = tuple(path for path in api.paths if is_marketing(path))
    if not paths:
        raise MigrateError("none of the API's paths is /query/marketing or below")
    by_path = resources(inputs.aws, api.api_id)
    methods = [
        (path, verb)
        for path in paths
        for verb in sorted(by_path.get(path, {}).get("resourceMethods", {}))
        if verb != "OPTIONS"
    ]
    identity = read_identity(None, inputs.context)
    usage = marketing_use(
        inputs.aws,
        api.api_id,
        api.stage,
        methods,
        days=options.days,
        test_identity=(identity.user, identity.claim) if identity else None,
    )
    report = Reporter(as_json=options.as_json)
    used = (
        "unknown"
        if usage.requests is None
        else f"{usage.requests} requests ({usage.source}: {usage.detail})"
    )
    report.say(f"use of /query/marketing over the last {options.days} days: {used}")
    for label, count in usage.by_method.items():
        report.say(f"  {label}: {count}")
    refusal = ""
    try:
        refuse_used(usage, force=options.force)
    except MigrateError as exc:
        if not options.dry_run:
            raise
        refusal = exc.format_message()
        report.say(f"[red]✗[/] {refusal}")
    marketing = ExistingApi(api.api_id, api.stage, paths)
    return attach_paths(
        "retire-marketing",
        options,
        inputs,
        marketing,
        extra={"usage": usage.as_json()},
        refusal=refusal,
    )
