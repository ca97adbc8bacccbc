"""``shadow``: the same read-only requests to the old path and the new path, compared.

One module per job: ``targets`` (the two paths), ``query_lambda`` (the Query Lambda's alias
invoked as a caller), ``bodies`` (the requests to send), ``comparison`` (what a client
would see differ), ``summary`` (counts and latencies), ``pacing`` (the run) and
``reports`` (Markdown and HTML). See docs/runbook.md and
docs/contract.md#public-api for what is compared and why.
"""

from __future__ import annotations

from query_migrate.shadow.bodies import request_bodies
from query_migrate.shadow.comparison import Difference, compare
from query_migrate.shadow.pacing import run_shadow
from query_migrate.shadow.reports import html_report, markdown_report, summary_rows
from query_migrate.shadow.summary import Exchange, Summary, percentile
from query_migrate.shadow.targets import (
    Answer,
    Caller,
    HttpTarget,
    InvokeTarget,
    Target,
    parse_target,
)

__all__ = [
    "Answer",
    "Caller",
    "Difference",
    "Exchange",
    "HttpTarget",
    "InvokeTarget",
    "Summary",
    "Target",
    "compare",
    "html_report",
    "markdown_report",
    "parse_target",
    "percentile",
    "request_bodies",
    "run_shadow",
    "summary_rows",
]
