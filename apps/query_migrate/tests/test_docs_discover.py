"""The runbook's examples of discover and retire-marketing, made by running them against an
account in moto (ids replaced by stable ones); rewritten as test_docs_examples says."""

from __future__ import annotations

from pathlib import Path

from apps.query_migrate.tests.fixtures.running import Running
from apps.query_migrate.tests.test_docs_examples import Stable, _run, check_snippet


def test_discover_and_retire_examples(run, running: Running, aws, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    Path("infra").mkdir()
    stable = Stable()
    stable.add(running.api_id, "a1b2c3d4e5")
    stable.add(running.account.authorizer_id, "k9x8w7v6u5")
    endpoint = ["--endpoint-url", run.moto_url]
    args = ["discover", "--api-id", running.api_id, "--output", "infra/cdk.context.json"]
    discover = _run(
        [*args, *endpoint],
        shown="query-migrate discover --api-id a1b2c3d4e5 --output infra/cdk.context.json",
        stable=stable,
    )
    assert "not found" in discover
    assert Path("infra/cdk.context.json").exists()

    lam = aws("lambda")
    alias_arn = lam.get_alias(FunctionName="query-lambda", Name="live")["AliasArn"]
    aws("apigateway").update_stage(
        restApiId=running.api_id,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"}],
    )
    retire = ["retire-marketing", "--context-file", "infra/cdk.context.json", "--days", "30"]
    shown = " ".join(
        ["query-migrate", *retire, "--stack", "QueryService-prod", "--record", "retire.json"]
    )
    result = _run(
        [*retire, "--alias-arn", alias_arn, "--record", "retire.json", *endpoint], shown=shown
    )
    apigateway = aws("apigateway")
    for resource in apigateway.get_resources(restApiId=running.api_id)["items"]:
        stable.add(resource["id"])
    for deployment in apigateway.get_deployments(restApiId=running.api_id)["items"]:
        stable.add(deployment["id"])
    result = stable(result)
    assert "0 requests" in result
    check_snippet("examples/discover.txt", discover, exact=False)
    check_snippet("examples/retire-marketing.txt", result, exact=False)
