"""shadow's ``query-lambda:<alias>`` side: alias live (fixtures/identity.py, in front of a
service whose owner check is on) invoked as the public API would, against the chain's
legacy path, with the test identity or as each body's owner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from query_migrate.cli import cli

from apps.query_migrate.tests.fixtures.identity import ALIAS, API_ID


def shadow(*args: str) -> tuple[int, dict, str]:
    result = CliRunner().invoke(
        cli, ["shadow", "--region", "us-east-1", *args, "--json"], catch_exceptions=False
    )
    return result.exit_code, json.loads(result.stdout or "{}"), result.stderr


@pytest.mark.usefixtures("fake_aws_credentials")
def test_as_owner_real_users_pages_match_through_the_owner_checked_alias(
    chain, live, tmp_path
) -> None:
    users = tmp_path / "users.txt"
    users.write_text("u-1001\nu-1002\nu-1003\nu-9999\n")
    code, summary, err = shadow(
        "--old", chain.legacy_service, "--new", f"query-lambda:{ALIAS}", "--endpoint-url", live,
        "--as-owner", "--users", str(users), "--limit", "3", "--follow-pages", "--max-pages",
        "3", "--rate", "0", "-c", "publicAuth=cognito",
    )  # fmt: skip
    assert code == 0, (summary, err)
    assert summary["mismatches"]["total"] == 0
    assert summary["errors"] == 0
    assert summary["requests"] >= 4
    assert summary["new"] == f"query-lambda:{ALIAS} as each body's user_id"


@pytest.mark.usefixtures("fake_aws_credentials")
def test_as_the_test_identity_only_its_own_pages_are_answered(chain, live, tmp_path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("u-1001\nu-1002\n")
    code, summary, _ = shadow(
        "--old", chain.legacy_service, "--new", f"query-lambda:{ALIAS}", "--endpoint-url", live,
        "--users", str(users), "--rate", "0", "-c", "canaryTestUserId=u-1001",
    )  # fmt: skip
    assert code == 1
    assert summary["new"] == f"query-lambda:{ALIAS} as u-1001"
    assert summary["mismatches"]["total"] == 1  # u-1002 asked as u-1001: 403 on the new side


@pytest.mark.usefixtures("fake_aws_credentials")
def test_the_alias_side_needs_a_caller_and_a_function(chain) -> None:
    result = CliRunner().invoke(
        cli,
        ["shadow", "--old", chain.legacy_service, "--new", "query-lambda:live", "--users", "-"],
        input="u-1001\n",
    )
    assert result.exit_code == 2
    assert "the function is not known" in result.stderr
    args = ["shadow", "--old", chain.legacy_service, "--new", f"query-lambda:{ALIAS}"]
    result = CliRunner().invoke(cli, [*args, "--users", "-"], input="u-1001\n")
    assert result.exit_code == 2
    assert "--identity USER" in result.stderr
    assert "--as-owner" in result.stderr


@pytest.mark.usefixtures("fake_aws_credentials")
def test_the_alias_side_names_the_public_api_the_query_lambda_takes(
    chain, live_api, tmp_path
) -> None:
    """docs/contract.md#side-doors: the context's existingPublicApiId is the events' apiId."""
    users = tmp_path / "users.txt"
    users.write_text("u-1001\nu-1002\n")
    args = ["--old", chain.legacy_service, "--new", f"query-lambda:{ALIAS}"]
    args += ["--endpoint-url", live_api, "--as-owner", "--users", str(users), "--rate", "0"]
    code, summary, err = shadow(
        *args, "-c", f"existingPublicApiId={API_ID}", "-c", "ownerClaim=sub"
    )
    assert (code, summary["mismatches"]["total"], summary["errors"]) == (0, 0, 0), (summary, err)
    code, summary, _ = shadow(*args, "-c", "publicAuth=cognito")  # the API not named: 403s
    assert code == 1
    assert summary["mismatches"]["total"] == 2
