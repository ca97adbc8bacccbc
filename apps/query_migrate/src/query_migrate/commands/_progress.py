"""``shadow``'s progress bar on stderr: exchanges done, mismatches and errors so far."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from query_migrate.shadow import Exchange

__all__ = ["ShadowProgress"]


class ShadowProgress:
    """A rich progress bar whose total grows by one for each page ``--follow-pages`` opens."""

    def __init__(self, total: int) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("mismatches {task.fields[mismatches]}, errors {task.fields[errors]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._mismatches = self._errors = 0
        self._total = total
        self._task = self._progress.add_task("shadow", total=total, mismatches=0, errors=0)

    def __enter__(self) -> ShadowProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def seen(self, exchange: Exchange, opened_page: bool) -> None:
        if exchange.error:
            self._errors += 1
        elif exchange.differences:
            self._mismatches += 1
        self._total += 1 if opened_page else 0
        self._progress.update(
            self._task,
            advance=1,
            total=self._total,
            mismatches=self._mismatches,
            errors=self._errors,
        )
