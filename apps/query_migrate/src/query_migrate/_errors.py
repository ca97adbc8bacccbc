"""The errors of ``query-migrate``; no botocore or httpx2 exception escapes a command.

```
click.ClickException
└── MigrateError             exit 2: the command could not do its work
    ├── MissingInputError      a value is neither an option nor a stack output
    ├── AwsError               an AWS call failed (access denied, throttled, unreachable)
    └── RefusedError           exit 1: the tool found a shape it will not change
```

Each is a ``click.ClickException`` carrying its exit code: click prints it as one line on
stderr and exits with that code, so no command calls ``sys.exit``.
"""

from __future__ import annotations

from typing import IO, Any

import click

__all__ = ["AwsError", "MigrateError", "MissingInputError", "RefusedError"]


class MigrateError(click.ClickException):
    """Root of the tool's errors; the message is what the user reads, on one line."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"query-migrate: {self.format_message()}", file=file, err=file is None)


class MissingInputError(MigrateError):
    """A value the command needs is neither given as an option nor a stack output."""


class AwsError(MigrateError):
    """An AWS call failed; the message names the call and AWS's own error code (``code``)."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class RefusedError(MigrateError):
    """The tool refuses to change something whose shape is not the one it knows."""

    exit_code = 1
