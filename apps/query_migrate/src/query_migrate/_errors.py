"""The errors of ``query-migrate``; no botocore or httpx2 exception escapes a command.

```
MigrateError                 exit 2: the command could not do its work
├── MissingInputError          a value is neither an option nor a stack output
├── AwsError                   an AWS call failed (access denied, throttled, unreachable)
└── RefusedError               exit 1: the tool found a shape it will not change
```
"""

from __future__ import annotations

__all__ = ["AwsError", "MigrateError", "MissingInputError", "RefusedError"]


class MigrateError(Exception):
    """Root of the tool's errors; the message is what the user reads, on one line."""

    exit_code = 2


class MissingInputError(MigrateError):
    """A value the command needs is neither given as an option nor a stack output."""


class AwsError(MigrateError):
    """An AWS call failed; the message names the call and AWS's own error code."""


class RefusedError(MigrateError):
    """The tool refuses to change something whose shape is not the one it knows."""

    exit_code = 1
