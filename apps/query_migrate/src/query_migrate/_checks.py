"""A check's verdict, and the ✓/✗ table (or JSON) every checking command prints."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from rich.table import Table

__all__ = ["Check", "Verdict", "checks_json", "checks_table", "overall_ok"]


class Verdict(enum.StrEnum):
    OK = "ok"
    FAIL = "fail"
    #: Not checked: an input is missing, or the hop is not reachable from where the tool runs.
    SKIPPED = "skipped"


_MARKS = {Verdict.OK: "[green]✓[/]", Verdict.FAIL: "[red]✗[/]", Verdict.SKIPPED: "[dim]–[/]"}


@dataclass(frozen=True)
class Check:
    """One thing checked: what, the verdict, what was found, and how to fix a failure."""

    name: str
    verdict: Verdict
    detail: str
    fix: str = ""
    #: Milliseconds the check took, for the commands that time hops (``smoke``).
    latency_ms: float | None = None

    @classmethod
    def ok(cls, name: str, detail: str, *, latency_ms: float | None = None) -> Check:
        return cls(name, Verdict.OK, detail, latency_ms=latency_ms)

    @classmethod
    def fail(cls, name: str, detail: str, fix: str, *, latency_ms: float | None = None) -> Check:
        return cls(name, Verdict.FAIL, detail, fix, latency_ms=latency_ms)

    @classmethod
    def holds(cls, name: str, ok: bool, detail: str, fix: str) -> Check:
        """OK when ``ok``, else a failure with ``fix``: one check of a condition."""
        return cls.ok(name, detail) if ok else cls.fail(name, detail, fix)

    @classmethod
    def skipped(cls, name: str, detail: str) -> Check:
        return cls(name, Verdict.SKIPPED, detail)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "verdict": self.verdict.value}
        data["detail"] = self.detail
        if self.fix:
            data["fix"] = self.fix
        if self.latency_ms is not None:
            data["latency_ms"] = round(self.latency_ms, 1)
        return data


def overall_ok(checks: list[Check]) -> bool:
    """True when nothing checked failed (a skipped check is not a failure)."""
    return all(check.verdict is not Verdict.FAIL for check in checks)


def checks_table(title: str, checks: list[Check], *, latency: bool = False) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("", no_wrap=True)
    table.add_column("check", style="bold")
    if latency:
        table.add_column("ms", justify="right")
    table.add_column("found", overflow="fold")
    fixes = any(check.fix for check in checks)
    if fixes:
        table.add_column("fix", overflow="fold")
    for check in checks:
        row = [_MARKS[check.verdict], check.name]
        if latency:
            row.append("" if check.latency_ms is None else f"{check.latency_ms:.0f}")
        row += [check.detail, check.fix] if fixes else [check.detail]
        table.add_row(*row)
    return table


def checks_json(command: str, checks: list[Check], **extra: Any) -> dict[str, Any]:
    return {
        "command": command,
        "ok": overall_ok(checks),
        **extra,
        "checks": [check.as_json() for check in checks],
    }
