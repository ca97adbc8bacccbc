"""``query-migrate shadow``: old path and new path side by side, compared."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

import click
from rich.console import RenderableType
from rich.table import Table

from query_migrate._errors import MigrateError
from query_migrate.commands._options import TIMEOUT, ContextOptions, Inputs, command, option
from query_migrate.commands._progress import shadow_progress
from query_migrate.commands._reporter import Reporter
from query_migrate.shadow import (
    Caller,
    Summary,
    html_report,
    markdown_report,
    parse_target,
    request_bodies,
    run_shadow,
    summary_rows,
)
from query_migrate.smoke_identity import owner_claim, public_api_id, read_identity

_REPORTS = {".md": markdown_report, ".html": html_report, ".htm": html_report}


@dataclass(frozen=True, kw_only=True)
class ShadowOptions(ContextOptions):
    old: str | None = field(
        metadata=option(
            "--old",
            metavar="TARGET",
            help="the old path: the EKS handler's base URL, or lambda:FUNCTION for a direct "
            "invocation of the Query Result Lambda (default: context oldEksHandlerUrl)",
        )
    )
    new: str | None = field(
        metadata=option(
            "--new",
            metavar="TARGET",
            help="the new path: query-lambda:ALIAS (the Query Lambda's alias, e.g. "
            "query-lambda:live, invoked as the public API would with --identity or "
            "--as-owner), the ALB's base URL, the private API's URL with its stage, or "
            "lambda:FUNCTION (default: stack output ServiceUrl)",
        )
    )
    identity: str | None = field(
        metadata=option(
            "--identity",
            metavar="USER",
            help="the caller a query-lambda: side is invoked as (default: the context's "
            "canaryTestUserId); its own pages are then 200, other users' 403",
        )
    )
    as_owner: bool = field(
        metadata=option(
            "--as-owner",
            is_flag=True,
            help="invoke a query-lambda: side as each body's own user_id, so that real "
            "users' pages are compared with the owner check on",
        )
    )
    old_sigv4: bool = field(
        metadata=option(
            "--old-sigv4", is_flag=True, help="sign the old side's requests (SigV4, execute-api)"
        )
    )
    new_sigv4: bool = field(
        metadata=option(
            "--new-sigv4", is_flag=True, help="sign the new side's requests (the private API)"
        )
    )
    bodies: str | None = field(
        metadata=option(
            "--bodies",
            metavar="FILE",
            help="JSON lines, one request body of POST /query/result each (- reads stdin)",
        )
    )
    users: str | None = field(
        metadata=option("--users", metavar="FILE", help="one user_id a line (- reads stdin)")
    )
    limit: int = field(
        metadata=option(
            "--limit",
            type=click.IntRange(1, 100),
            default=20,
            show_default=True,
            help="limit of each --users request",
        )
    )
    ap_id: str | None = field(metadata=option("--ap-id", help="ap_id of each --users request"))
    repeat: int = field(
        metadata=option(
            "--repeat",
            type=click.IntRange(1),
            default=1,
            show_default=True,
            help="send the whole input this many times",
        )
    )
    concurrency: int = field(
        metadata=option(
            "--concurrency",
            type=click.IntRange(1, 256),
            default=8,
            show_default=True,
            help="requests in flight to each side",
        )
    )
    rate: float = field(
        metadata=option(
            "--rate",
            type=click.FloatRange(0),
            default=20.0,
            show_default=True,
            help="requests per second to each side; 0: no limit",
        )
    )
    timeout: float = field(metadata=TIMEOUT)
    follow_pages: bool = field(
        metadata=option(
            "--follow-pages",
            is_flag=True,
            help="follow next_token page by page (the old side's token to both)",
        )
    )
    max_pages: int = field(
        metadata=option(
            "--max-pages",
            type=click.IntRange(1),
            default=10,
            show_default=True,
            help="pages per request body at most, with --follow-pages",
        )
    )
    compare_headers: tuple[str, ...] = field(
        metadata=option(
            "--compare-header",
            multiple=True,
            metavar="NAME",
            help="also compare this response header's value (repeatable)",
        )
    )
    reports: tuple[Path, ...] = field(
        metadata=option(
            "--report",
            multiple=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help="write a report with a diff of each mismatch: FILE.md (Markdown) or FILE.html "
            "(repeatable)",
        )
    )
    run_id: str | None = field(
        metadata=option(
            "--run-id",
            default=None,
            help="prefix of the X-Request-Id values (default: shadow-TIME)",
        )
    )


@command(ShadowOptions, outputs=("ServiceUrl", "QueryLambdaFunctionName"))
def shadow(options: ShadowOptions) -> int:
    """Replay read-only requests against the old path and the new path, and compare them.

    Each request body (JSON lines with --bodies, or one request per user_id with --users) is
    sent to both sides at once, each with its own X-Request-Id. Compared: the status, the body
    (as JSON), Content-Type, Retry-After's presence, and each side echoing its request id; the
    other headers never reach a client of the public API and are not compared. Prints a
    summary (matches, mismatches by kind, errors, p50/p99 of each side) and, with --report, a
    Markdown or HTML file with a readable diff of each mismatch. Exit 1 on any mismatch or
    error.
    """
    inputs = Inputs.load(options)
    requests = request_bodies(
        bodies=options.bodies,
        users=options.users,
        limit=options.limit,
        ap_id=options.ap_id,
        repeat=options.repeat,
    )
    if any(report.suffix.lower() not in _REPORTS for report in options.reports):
        raise MigrateError("--report must end in .md or .html")
    old = options.old or inputs.context.string("oldEksHandlerUrl")
    if not old:
        raise MigrateError("--old is needed (or context oldEksHandlerUrl)")
    new = options.new or inputs.outputs.require("ServiceUrl")
    identity = read_identity(options.identity, inputs.context)
    caller = Caller(
        identity=identity.user if identity else None,
        claim=identity.claim if identity else owner_claim(inputs.context),
        as_owner=options.as_owner,
        function=inputs.outputs.get("QueryLambdaFunctionName"),
        api_id=public_api_id(inputs.context, inputs.outputs.get("PublicApiUrl")),
    )
    old_side, new_side = (
        parse_target(
            spec,
            inputs.aws,
            sigv4=sigv4,
            concurrency=options.concurrency,
            timeout=options.timeout,
            caller=caller,
        )
        for spec, sigv4 in ((old, options.old_sigv4), (new, options.new_sigv4))
    )
    with shadow_progress(len(requests)) as seen:
        summary = asyncio.run(
            run_shadow(
                requests,
                old_side,
                new_side,
                concurrency=options.concurrency,
                rate=options.rate,
                follow_pages=options.follow_pages,
                max_pages=options.max_pages,
                compared_headers=options.compare_headers,
                run_id=options.run_id or time.strftime("shadow-%Y%m%dT%H%M%S"),
                on_exchange=seen,
            )
        )
    for report in options.reports:
        report.write_text(_REPORTS[report.suffix.lower()](summary), encoding="utf-8")
    Reporter(as_json=options.as_json).result(
        {**summary.as_json(), "reports": [str(report) for report in options.reports]},
        *_summary_text(summary, options.reports),
    )
    return 0 if summary.ok else 1


def _summary_text(summary: Summary, reports: tuple[Path, ...]) -> list[RenderableType]:
    table = Table(show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    for name, value in summary_rows(summary):
        table.add_row(name, value)
    verdict = "[green]no mismatch[/]" if summary.ok else "[red]mismatches or errors[/]"
    return [
        f"old: {summary.old_label}\nnew: {summary.new_label}",
        table,
        f"{verdict}; {summary.requests} requests in {summary.seconds:.1f} s"
        + "".join(f"; report: {report}" for report in reports),
    ]
