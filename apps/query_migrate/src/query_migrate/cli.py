"""The ``query-migrate`` console script: a click group of the commands in ``commands/``.

Exit codes, the same for every command, so that a pipeline can gate on them:
0 everything checked holds (or the change was made and verified); 1 something checked does
not hold, a comparison found a mismatch, or the tool refused a change; 2 the command could
not do its work (a missing input, an AWS error, a usage error). A command returns its code;
a ``MigrateError`` carries its own (decision 7).
"""

from __future__ import annotations

import click

from query_migrate.commands import COMMANDS

__all__ = ["cli", "main"]


@click.group(
    context_settings={
        "help_option_names": ["-h", "--help"],
        "auto_envvar_prefix": "QUERY_MIGRATE",
        "max_content_width": 100,
    }
)
@click.version_option(package_name="query-migrate")
def cli() -> None:
    """The cutover from EKS to ECS Fargate, one command per step of the runbook.

    \b
      discover    before all: the CDK context file, read from the running account
      preflight   before each deploy: what the account must satisfy, with a fix per ✗
      smoke       after a deploy: every hop reachable from here, and the logs that prove it
      shadow      before the switch: old path and new path side by side, compared
      attach      the switch: the existing public API's integrations -> the alias live
      status      while it moves: alias weights, CodeDeploy, alarms, per-version metrics
      retire-marketing  its own step: /query/marketing's use, then its 410 (detach undoes it)
      detach      the rollback of attach: the recorded integrations and deployment, restored

    Every URL/ARN comes from the stack's outputs (--stack NAME) or its own option; every
    option can also be set as QUERY_MIGRATE_<COMMAND>_<OPTION> (e.g.
    QUERY_MIGRATE_PREFLIGHT_STACK). Exit codes: 0 everything checked holds; 1 something does
    not hold (a ✗, a mismatch, a refusal); 2 the command could not run.
    """


for _command in COMMANDS:
    cli.add_command(_command)


@cli.result_callback()
def _exit_with(code: int) -> None:
    """The command's return value is the process's exit code."""
    click.get_current_context().exit(code)


def main() -> None:
    """The console script ``query-migrate``."""
    cli()
