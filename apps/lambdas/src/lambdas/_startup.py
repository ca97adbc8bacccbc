"""Starting a Lambda: a wrong setting stops the function at init with one log line.

A setting that is missing or wrong raises ``SettingsError`` (its message one line that
names the variable); ``starting()`` turns it into one JSON log line and exit status 1,
so that Lambda reports an init failure with that line, not a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from query_core import configure_json_logging

__all__ = ["SettingsError", "starting"]


class SettingsError(ValueError):
    """An environment variable is missing or wrong; the message, one line, names it."""


@contextmanager
def starting(log: logging.Logger) -> Iterator[None]:
    """Run a function's init; a ``SettingsError`` becomes one log line and ``SystemExit(1)``."""
    try:
        yield
    except SettingsError as exc:
        configure_json_logging()
        log.critical("cannot start: %s", exc)
        raise SystemExit(1) from None
