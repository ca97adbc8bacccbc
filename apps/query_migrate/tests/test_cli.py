"""The console script as a user runs it, and the help texts the reference page is made of."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from query_migrate import commands as registry
from query_migrate.cli import cli

#: Every registered command: a new one gets its help page and --help checks here.
COMMANDS = tuple(str(command.name) for command in registry.COMMANDS)


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "query-migrate"
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert f"  {command} " in result.stdout


def test_python_dash_m_runs_the_same_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "query_migrate", "shadow", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: python -m query_migrate shadow [OPTIONS]")


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"], prog_name="query-migrate")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: query-migrate {command} [OPTIONS]")
    assert "--json" in result.stdout


def test_options_come_from_the_environment_too(run, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("QUERY_MIGRATE_SHADOW_OLD", "http://127.0.0.1:1")
    empty = tmp_path / "empty"
    empty.write_text("")
    result = run("shadow", "--new", "http://127.0.0.1:2", "--bodies", str(empty), aws=False)
    assert result.exit_code == 2
    assert "the input is empty" in result.stderr  # --old was taken from the environment


def test_a_bad_context_value_is_one_clear_line(run) -> None:
    result = run("preflight", "-c", "executeApiPrivateDns=maybe", "--vpc-id", "vpc-1")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "query-migrate: context executeApiPrivateDns: expected true or false, got 'maybe'"
    )
