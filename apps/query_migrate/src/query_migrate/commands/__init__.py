"""One module per command (model: pip's ``commands/``): parse the options, call the step's
module, render through the reporter. A new command is a module here and a line in
:data:`COMMANDS`."""

from __future__ import annotations

import click

from query_migrate.commands.attach import attach
from query_migrate.commands.detach import detach
from query_migrate.commands.discover import discover
from query_migrate.commands.preflight import preflight
from query_migrate.commands.retire_marketing import retire_marketing
from query_migrate.commands.shadow import shadow
from query_migrate.commands.smoke import smoke
from query_migrate.commands.status import status

__all__ = ["COMMANDS"]

#: Every subcommand of ``query-migrate``, in the order of the runbook.
COMMANDS: tuple[click.Command, ...] = (
    discover,
    preflight,
    smoke,
    shadow,
    attach,
    status,
    retire_marketing,
    detach,
)
