"""The rehearsal's transcript: the timeline printed at the end of a run, and the same as a page
of the site (``docs/rehearsal.md``), rewritten by every run of ``nox -s rehearse``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rehearsal.deploy import Deployed
from rehearsal.run import Rehearsal
from rehearsal.runbook import Block

__all__ = ["page", "timeline"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{_cell(text)}`" if text else ""


def _watched(watched: Sequence[str], index: int) -> str:
    return watched[index] if index < len(watched) else ""


def timeline(rehearsal: Rehearsal, watched: Sequence[str] = ()) -> str:
    """The timeline as plain text: step, command, exit code, seconds, and the watching
    client's figures in that block (``watched``, one line a block, when it watched)."""
    rows = [("step", "command", "exit", "seconds", "client")]
    for index, outcome in enumerate(rehearsal.outcomes):
        code = "-" if outcome.exit_code is None else str(outcome.exit_code)
        rows.append((outcome.block.step, outcome.block.first_line, code,
                     f"{outcome.seconds:.1f}", _watched(watched, index)))  # fmt: skip
    widths = [min(60, max(len(row[i]) for row in rows)) for i in range(5)]
    lines = [
        "  ".join(cell[:60].ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines += [f"skipped: {block.step}: {block.reason}" for block in rehearsal.runbook.skipped()]
    if stop := rehearsal.runbook.stop():
        lines.append(f"stopped before: {stop.step}: {stop.reason}")
    lines.append(_verdict(rehearsal))
    return "\n".join(lines)


def _verdict(rehearsal: Rehearsal) -> str:
    if failed := rehearsal.failed:
        return f"FAILED: {failed.verdict()}"
    return f"passed: {len(rehearsal.outcomes)} blocks in {rehearsal.seconds:.1f} s"


def _listed(blocks: list[Block], why: bool) -> list[str]:
    return [
        f"| {_cell(b.step)} | {_code(b.first_line)} |" + (f" {_cell(b.reason)} |" if why else "")
        for b in blocks
    ]


def page(
    rehearsal: Rehearsal,
    *,
    fixture: str,
    seconds: float,
    deployed: list[Deployed] | None = None,
    watched: Sequence[str] = (),
    watching: Sequence[str] = (),
) -> str:
    """``docs/rehearsal.md``: what ran, what was skipped and why, where it stopped."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Runbook rehearsal",
        "",
        "<!-- Written by `./nox -s rehearse` (apps/rehearsal): edit the runbook, not this. -->",
        "",
        "The [runbook](runbook.md)'s command blocks run in page order, as written, against the",
        f"running account emulated in moto's server from one fixture file (`{fixture}`):",
        "`query-migrate` and the real AWS CDK CLI (`npx aws-cdk@2`, the lock's) on `PATH`, the",
        "placeholders filled from the page's `rehearse fill` markers. A block that cannot run",
        "against an emulated account is marked `rehearse skip` in the page with its reason;",
        "`rehearse stop` marks where this rehearsal ends",
        "([decision 15](decisions/0015-runbook-rehearsal.md)). This page is the transcript of",
        f"the last run ({now}, {seconds:.0f} s in all, moto's start and the account included).",
        "",
        f"**{_verdict(rehearsal)}**",
        "",
        "## Timeline",
        "",
        "| step | command | exit | seconds | the watching client |",
        "| --- | --- | --- | --- | --- |",
    ]
    for index, outcome in enumerate(rehearsal.outcomes):
        code = "–" if outcome.exit_code is None else str(outcome.exit_code)
        lines.append(
            f"| {_cell(outcome.block.step)} | {_code(outcome.block.first_line)} | {code} "
            f"| {outcome.seconds:.1f} | {_cell(_watched(watched, index))} |"
        )
    if watching:
        lines += [
            "",
            "## The watching client",
            "",
            "A client paged through every demo user's results through the public API's local",
            "front the whole time, each pass checked against the table",
            "([the data plane](decisions/0015-runbook-rehearsal.md#the-data-plane)):",
            "",
        ]
        lines += [f"- {_cell(line)}" for line in watching]
    for done in deployed or []:
        lines += [
            "",
            "## The deploy",
            "",
            f"`{done.stack}`'s {len(done.resources)} resources in {done.waves} waves, "
            "in the place of the runbook's deploy (`rehearse instead: deploy`, "
            "[decision 15](decisions/0015-runbook-rehearsal.md#the-deploy)):",
            "",
            "| resource | type | part | why |",
            "| --- | --- | --- | --- |",
        ]
        lines += [
            f"| `{p.logical_id}` | `{p.type}` | {p.part} | {_cell(p.reason)} |"
            for p in sorted(done.resources, key=lambda p: (p.part, p.type, p.logical_id))
        ]
    if skipped := rehearsal.runbook.skipped():
        lines += ["", "## Skipped", "", "| step | command | why |", "| --- | --- | --- |"]
        lines += _listed(skipped, why=True)
    if stop := rehearsal.runbook.stop():
        lines += ["", "## Where it stops", "", f"Before **{stop.step}**: {stop.reason}", ""]
        lines += ["| step | command (not reached) |", "| --- | --- |"]
        lines += _listed([stop, *rehearsal.runbook.not_reached()], why=False)
    if rehearsal.runbook.fills:
        lines += ["", "## Fills", "", "| placeholder | value |", "| --- | --- |"]
        lines += [f"| {_code(k)} | {_code(v)} |" for k, v in rehearsal.runbook.fills.items()]
    return "\n".join(lines) + "\n"
