"""The run's summary as table rows, and the reports with a readable diff of each mismatch:
Markdown and one HTML page."""

from __future__ import annotations

import difflib
import html

from query_migrate.shadow.comparison import body_diff, pretty
from query_migrate.shadow.summary import Exchange, Summary

__all__ = ["html_report", "markdown_report", "summary_rows"]


def _fmt_ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def summary_rows(summary: Summary) -> list[tuple[str, str]]:
    rows = [
        ("requests", str(summary.requests)),
        ("matches", str(summary.matches)),
        ("mismatches", str(summary.mismatches)),
    ]
    rows += [(f"  {kind}", str(count)) for kind, count in sorted(summary.kinds.items())]
    rows.append(("errors", str(summary.errors)))
    for side in ("old", "new"):
        latency = summary.latency(side)
        rows.append(
            (f"{side} p50 / p99 ms", f"{_fmt_ms(latency['p50'])} / {_fmt_ms(latency['p99'])}")
        )
    return rows


def _label(name: str) -> str:
    """A summary row's name outside the terminal table: a kind names its parent row."""
    return f"mismatches: {name.strip()}" if name.startswith("  ") else name


def _title(exchange: Exchange) -> str:
    page = f", page {exchange.page}" if exchange.page > 1 else ""
    what = "error" if exchange.error else ", ".join(d.kind for d in exchange.differences)
    return f"Request {exchange.number}{page}: {what}"


def markdown_report(summary: Summary, *, limit: int = 100) -> str:
    """The report as Markdown: the summary, then each mismatch with a readable diff."""
    lines = [
        "# shadow report",
        "",
        f"- old: `{summary.old_label}`",
        f"- new: `{summary.new_label}`",
        f"- verdict: **{'no mismatch' if summary.ok else 'MISMATCHES OR ERRORS'}**",
        "",
        "| | |",
        "| --- | --- |",
        *(f"| {_label(name)} | {value} |" for name, value in summary_rows(summary)),
        "",
    ]
    for exchange in summary.problems[:limit]:
        lines += [f"## {_title(exchange)}", "", "Request body:", "", "```json"]
        lines += [exchange.body.decode(errors="replace"), "```", ""]
        lines.append(f"Request ids: `{exchange.old_id}` (old), `{exchange.new_id}` (new)")
        lines.append("")
        if exchange.error:
            lines += [f"Error: {exchange.error}", ""]
            continue
        for difference in exchange.differences:
            lines.append(f"- **{difference.kind}**: {difference.detail}")
        lines.append("")
        diff = body_diff(exchange.old, exchange.new)
        if diff:
            lines += ["```diff", *diff, "```", ""]
    if len(summary.problems) > limit:
        lines.append(f"({len(summary.problems) - limit} more not shown)")
    return "\n".join(lines) + "\n"


def html_report(summary: Summary, *, limit: int = 100) -> str:
    """The report as one HTML page: the summary, then a side-by-side diff per mismatch."""
    esc = html.escape
    rows = "".join(
        f"<tr><th>{esc(_label(name))}</th><td>{esc(value)}</td></tr>"
        for name, value in summary_rows(summary)
    )
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>shadow report</title>",
        "<style>body{font-family:sans-serif;margin:2em}table.diff{font-family:monospace;"
        "font-size:90%}.diff_add{background:#cfc}.diff_chg{background:#ffa}"
        ".diff_sub{background:#fcc}th{text-align:left;padding-right:1em}</style></head><body>",
        "<h1>shadow report</h1>",
        f"<p>old: <code>{esc(summary.old_label)}</code><br>new: "
        f"<code>{esc(summary.new_label)}</code></p>",
        f"<table>{rows}</table>",
    ]
    differ = difflib.HtmlDiff(wrapcolumn=80)
    for exchange in summary.problems[:limit]:
        parts.append(f"<h2>{esc(_title(exchange))}</h2>")
        parts.append(f"<pre>{esc(exchange.body.decode(errors='replace'))}</pre>")
        parts.append(
            f"<p>Request ids: <code>{esc(exchange.old_id)}</code> (old), "
            f"<code>{esc(exchange.new_id)}</code> (new)</p>"
        )
        if exchange.error:
            parts.append(f"<p>Error: {esc(exchange.error)}</p>")
            continue
        items = "".join(
            f"<li><b>{esc(d.kind)}</b>: {esc(d.detail)}</li>" for d in exchange.differences
        )
        parts.append(f"<ul>{items}</ul>")
        old_lines = pretty(exchange.old.json(), exchange.old.body)
        new_lines = pretty(exchange.new.json(), exchange.new.body)
        if old_lines != new_lines:
            parts.append(
                differ.make_table(old_lines, new_lines, "old", "new", context=True, numlines=3)
            )
    if len(summary.problems) > limit:
        parts.append(f"<p>({len(summary.problems) - limit} more not shown)</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
