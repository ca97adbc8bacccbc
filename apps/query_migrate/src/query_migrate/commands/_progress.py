"""``shadow``'s progress bar on stderr: exchanges done, mismatches and errors so far."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from query_migrate.shadow import Exchange

__all__ = ["shadow_progress"]


@contextlib.contextmanager
def shadow_progress(total: int) -> Iterator[Callable[[Exchange, bool], None]]:
    """A rich progress bar; yields ``seen(exchange, opened_page)`` for ``run_shadow``. The
    total grows by one for each page ``--follow-pages`` opens."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("mismatches {task.fields[mismatches]}, errors {task.fields[errors]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    counts = {"mismatches": 0, "errors": 0, "total": total}
    task = progress.add_task("shadow", total=total, mismatches=0, errors=0)

    def seen(exchange: Exchange, opened_page: bool) -> None:
        if exchange.error:
            counts["errors"] += 1
        elif exchange.differences:
            counts["mismatches"] += 1
        counts["total"] += 1 if opened_page else 0
        progress.update(
            task,
            advance=1,
            total=counts["total"],
            mismatches=counts["mismatches"],
            errors=counts["errors"],
        )

    with progress:
        yield seen
