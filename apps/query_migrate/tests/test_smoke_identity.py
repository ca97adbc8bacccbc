"""smoke invokes alias live with the test identity (fixtures/identity.py: the Query Lambda's
handler behind a local Lambda Invoke API, in front of the local chain's path), from where no
bastion is: nothing needs the Query Lambda's security group or the owner check off."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from query_core import FOREIGN_EVENT_DETAIL
from query_migrate._aws import Aws
from query_migrate._inputs import Context
from query_migrate.cli import cli
from query_migrate.phase import Phase
from query_migrate.smoke_identity import Identity, identity_checks, public_api_id

from apps.query_migrate.tests.fixtures.identity import ALIAS, API_ID


def smoke(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["smoke", *args, "--json"], catch_exceptions=False)
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


def checks(report: dict) -> dict[str, dict]:
    return {check["name"]: check for check in report["checks"]}


@pytest.mark.usefixtures("fake_aws_credentials")
def test_alias_live_proves_the_path_as_the_test_identity_from_the_context(live) -> None:
    code, report = smoke(
        "--alias-arn", ALIAS, "--endpoint-url", live, "--region", "us-east-1",
        "-c", "canaryTestUserId=u-1001", "-c", "publicAuth=cognito", "--log-wait", "0",
    )  # fmt: skip
    found = checks(report)
    assert code == 0, report
    assert found["live as u-1001: a page"]["detail"] == "200, 2 item(s)"
    assert found["live as u-1001: the next page"]["verdict"] == "ok"
    assert found["live as u-1001: /query/marketing"]["detail"] == "the contract's 410"
    assert found["live as u-1001: another user's page is 403"]["verdict"] == "ok"
    assert found["ALB"]["verdict"] == "skipped"  # only with --alb-url: no bastion needed


@pytest.mark.usefixtures("fake_aws_credentials")
@pytest.mark.parametrize("claim", ["caller", "principalId"])
def test_identity_option_travels_in_each_authorizers_place(live, claim: str) -> None:
    auth = {"caller": "iam", "principalId": "lambda"}[claim]
    code, report = smoke(
        "--alias-arn", ALIAS, "--endpoint-url", live, "--region", "us-east-1",
        "--identity", "u-1002", "-c", f"publicAuth={auth}", "--log-wait", "0",
    )  # fmt: skip
    assert code == 0, report
    assert checks(report)["live as u-1002: a page"]["verdict"] == "ok"


@pytest.mark.usefixtures("fake_aws_credentials")
def test_an_owner_check_that_is_off_fails_and_names_the_fix(live_unchecked) -> None:
    code, report = smoke(
        "--alias-arn", ALIAS, "--endpoint-url", live_unchecked, "--region", "us-east-1",
        "--identity", "u-1001", "--log-wait", "0",
    )  # fmt: skip
    assert code == 1
    other = checks(report)["live as u-1001: another user's page is 403"]
    assert other["verdict"] == "fail"
    assert "the owner check is off" in other["detail"]
    assert "ownerClaim" in other["fix"]
    assert checks(report)["live as u-1001: a page"]["verdict"] == "ok"


def test_while_live_leads_to_eks_another_users_answer_is_not_this_stacks(
    live_unchecked, fake_aws_credentials
) -> None:
    aws = Aws(region="us-east-1", endpoint_url=live_unchecked)
    identity = Identity("u-1001", "sub", "--identity")
    found = {
        check.name: check
        for check in identity_checks(aws, ALIAS, identity, stem="s", phase=Phase.ATTACHED)
    }
    assert found["live as u-1001: another user's page is 403"].verdict.value == "skipped"
    assert found["live as u-1001: a page"].verdict.value == "ok"
    unchecked = identity_checks(aws, ALIAS, identity, stem="s", phase=Phase.ECS)
    assert [c.verdict.value for c in unchecked][-1] == "fail"
    off = identity_checks(aws, ALIAS, identity, stem="s", phase=Phase.ECS, owner_check=False)
    assert off[-1].verdict.value == "skipped"
    assert off[-1].detail == "the context turns the owner check off"


@pytest.mark.usefixtures("fake_aws_credentials")
def test_a_test_identity_without_results_proves_nothing_and_fails(live) -> None:
    code, report = smoke(
        "--alias-arn", ALIAS, "--endpoint-url", live, "--region", "us-east-1",
        "--identity", "nobody-has-results", "--log-wait", "0",
    )  # fmt: skip
    assert code == 1
    page = checks(report)["live as nobody-has-results: a page"]
    assert "has no results" in page["detail"]
    assert "the-test-identity" in page["fix"]


@pytest.mark.usefixtures("fake_aws_credentials")
def test_without_an_identity_or_an_alias_the_check_says_what_is_missing(live) -> None:
    _, report = smoke("--alias-arn", ALIAS, "--endpoint-url", live, "--region", "us-east-1")
    assert "canaryTestUserId" in checks(report)["alias live"]["detail"]
    _, report = smoke("--region", "us-east-1", "--identity", "u-1001", "--log-wait", "0")
    assert checks(report)["alias live"]["detail"] == "no --alias-arn (QueryLambdaAliasArn)"


@pytest.mark.usefixtures("fake_aws_credentials")
def test_an_invoke_that_fails_names_the_permission(chain) -> None:
    # The chain's Invoke API serves the Query Result Lambda only: query-lambda is not found.
    code, report = smoke(
        "--alias-arn", ALIAS, "--endpoint-url", chain.invoke, "--region", "us-east-1",
        "--identity", "u-1001", "--log-wait", "0",
    )  # fmt: skip
    assert code == 1
    failed = checks(report)["live as u-1001: invoke"]
    assert "ResourceNotFoundException" in failed["detail"]
    assert "lambda:InvokeFunction" in failed["fix"]


def test_the_events_name_the_public_api_the_query_lambda_takes(
    live_api, fake_aws_credentials
) -> None:
    """docs/contract.md#side-doors: without the API's id every event is 403, with the fix."""
    aws = Aws(region="us-east-1", endpoint_url=live_api)
    identity = Identity("u-1001", "sub", "--identity")
    named = identity_checks(aws, ALIAS, identity, stem="s", phase=Phase.ECS, api_id=API_ID)
    assert [c.verdict.value for c in named] == ["ok", "ok", "ok", "ok"], named
    (page, *_) = identity_checks(aws, ALIAS, identity, stem="s", phase=Phase.ECS)
    assert page.verdict.value == "fail"
    assert FOREIGN_EVENT_DETAIL in page.detail
    assert "existingPublicApiId" in page.fix


@pytest.mark.parametrize(
    ("context", "url", "api_id"),
    [
        ({"existingPublicApiId": "a1b2c3d4e5"}, None, "a1b2c3d4e5"),
        ({}, "https://k9k9k9k9k9.execute-api.eu-west-1.amazonaws.com/prod/", "k9k9k9k9k9"),
        ({}, "https://query.example.com/prod/", None),
        ({}, None, None),
    ],
)
def test_the_public_apis_id_comes_from_the_context_or_the_stacks_url(context, url, api_id) -> None:
    assert public_api_id(Context(context), url) == api_id
