"""The rehearsal's own check after each ``detach``: what it put back is what the account had
before the first block (rehearsal.restored), on the running account in moto's server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from query_devstack import EmulatorProcess, RunningAccount, load_account
from rehearsal.restored import Integrations
from rehearsal.runbook import Block


@pytest.fixture
def account() -> Iterator[tuple[Any, RunningAccount]]:
    with EmulatorProcess() as moto:
        account = load_account(moto.endpoint_url)
        make: Any = boto3.client
        apigw = make("apigateway", endpoint_url=moto.endpoint_url, region_name=account.region,
                     aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
        yield apigw, account


def _block(command: str) -> Block:
    return Block(step="Rollback: The public API itself", line=1, written=command, command=command)


def _put_result_integration(apigw: Any, api_id: str, **changed: Any) -> None:
    """PUT /query/result's integration again with ``changed`` (as attach and detach write it:
    moto has no UpdateIntegration of these fields)."""
    resources = apigw.get_resources(restApiId=api_id)["items"]
    resource = next(r["id"] for r in resources if r["path"] == "/query/result")
    now = apigw.get_integration(restApiId=api_id, resourceId=resource, httpMethod="POST")
    kept = ("type", "uri", "requestParameters", "passthroughBehavior", "contentHandling",
            "timeoutInMillis")  # fmt: skip
    fields = {k: now[k] for k in kept if k in now} | changed
    apigw.put_integration(restApiId=api_id, resourceId=resource, httpMethod="POST",
                          integrationHttpMethod=now["httpMethod"], **fields)  # fmt: skip


def test_a_detach_that_puts_back_something_else_fails_its_block(account) -> None:
    """A detach that exits 0 but left POST /query/result with another timeout: the block
    fails naming the method, the field and both values. Fails if the check trusted detach's
    exit code, or compared nothing."""
    apigw, acct = account
    integrations = Integrations(apigw, acct.api_id)
    assert "POST /query/result" in integrations.before
    assert "ANY /query/marketing" in integrations.before
    detach = _block("query-migrate detach attach-record.json")
    assert integrations.after(detach, 0) == ""  # nothing changed: as the account had it
    was = integrations.before["POST /query/result"].get("timeoutInMillis")  # 29000 unless set
    _put_result_integration(apigw, acct.api_id, timeoutInMillis=12000)
    problem = integrations.after(detach, 0)
    assert problem == (
        "exited 0, but did not restore the account's integrations: POST /query/result: "
        f"timeoutInMillis 12000, the account had {was!r}"
    )
    # Not a detach that ran, or not one that exited 0: not this check's to judge.
    assert integrations.after(_block("query-migrate detach attach-record.json --dry-run"), 0) == ""
    assert integrations.after(detach, 1) == ""
    # The runbook's block: the dry run, then the detach.
    both = _block("query-migrate detach attach-record.json --dry-run\n"
                  "query-migrate detach attach-record.json\n")  # fmt: skip
    assert integrations.after(both, 0) == problem
    assert integrations.after(_block("query-migrate status --stack S"), 0) == ""


def test_a_method_still_on_the_alias_is_another_records_to_put_back(account) -> None:
    """detach retire-record.json first puts back the marketing paths only: /query/result still
    invokes alias live (attach's record, detached next) and is not judged yet."""
    apigw, acct = account
    integrations = Integrations(apigw, acct.api_id)
    alias = "arn:aws:lambda:us-east-1:123456789012:function:QueryService-prod-QueryLambda:live"
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{alias}/invocations"
    _put_result_integration(apigw, acct.api_id, uri=uri)
    assert integrations.after(_block("query-migrate detach retire-record.json"), 0) == ""
