"""One reporter for every command: a table (rich) for a person, or JSON for a pipeline."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import click
from rich.console import Console, RenderableType
from rich.json import JSON
from rich.live import Live
from rich.table import Table

from query_migrate._checks import Check, checks_json, checks_table, overall_ok

__all__ = ["Reporter", "change_table"]


class Reporter:
    """Prints a command's result the way ``--json`` asks: each call gives both forms."""

    def __init__(self, *, as_json: bool) -> None:
        self.as_json = as_json
        self.console = Console(highlight=False, soft_wrap=False)

    def result(self, payload: Mapping[str, Any], *text: RenderableType) -> None:
        """The result: ``payload`` as JSON with ``--json``, else ``text``."""
        if self.as_json:
            click.echo(json.dumps(payload, indent=2, default=str))
        else:
            self.say(*text)

    def say(self, *text: RenderableType) -> None:
        """What a person reads on the way (a plan before it runs); nothing with ``--json``."""
        if not self.as_json:
            for part in text:
                # JSON is not wrapped at the terminal's width, as Console.print_json does.
                self.console.print(part, soft_wrap=isinstance(part, JSON))

    @contextlib.contextmanager
    def updates[T](
        self, payload: Callable[[T], Mapping[str, Any]], text: Callable[[T], RenderableType]
    ) -> Iterator[Callable[[T], None]]:
        """A function that shows each new ``T``: a JSON line each, or one screen redrawn."""
        if self.as_json:
            yield lambda item: click.echo(json.dumps(payload(item), default=str))
            return
        with Live(console=self.console, auto_refresh=False) as live:
            yield lambda item: live.update(text(item), refresh=True)

    def checks(
        self,
        command: str,
        checks: list[Check],
        *,
        title: str = "",
        latency: bool = False,
        **extra: Any,
    ) -> int:
        """The ✓/✗ table or its JSON; the exit code: 1 when a check failed."""
        self.result(
            checks_json(command, checks, **extra),
            checks_table(title or command, checks, latency=latency),
        )
        return 0 if overall_ok(checks) else 1


def change_table(title: str, after: str, rows: list[tuple[str, str, str]]) -> Table:
    """``method | invokes now | <after>``: what ``attach``/``detach`` change."""
    table = Table(title=title, title_justify="left")
    for column in ("method", "invokes now", after):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table
