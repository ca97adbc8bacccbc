"""The least-privilege IAM policy of each command that changes or reads the public API, made
from the AWS calls the command really makes.

Each command runs through every branch that calls AWS (dry run, change, refusal sources,
detach's two ways back) against moto, with botocore's ``before-call`` event recording each
operation; the policy of those calls must be the one committed in
``apps/query_migrate/docs/policies/<command>.json`` (the reference page includes it). A new
call fails here until the policy is rewritten (``QUERY_MIGRATE_WRITE_DOCS=1``, as for the
help texts).

API Gateway's IAM actions are the HTTP verbs on resource paths (``apigateway:GET`` on
``arn:aws:apigateway:REGION::/restapis/*/stages/*``): they come from each operation's HTTP
binding in botocore's model. Every other service's action is its operation's name.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import boto3
import pytest
from query_devstack import MisbehavingServer, RecordedRequest, Reply

from apps.query_migrate.tests.fixtures.running import Running
from apps.query_migrate.tests.test_docs_examples import check_snippet

#: botocore's service name -> IAM's action prefix, where they differ.
_PREFIX = {"elbv2": "elasticloadbalancing"}
#: botocore's operation -> IAM's action, where they differ.
_ACTION = {("lambda", "Invoke"): "InvokeFunction"}


class Calls:
    """The (service, operation, HTTP verb, request URI) each command made."""

    def __init__(self) -> None:
        self.command = ""
        self.made: dict[str, set[tuple[str, str, str, str]]] = defaultdict(set)

    def __call__(self, model: Any, **_: Any) -> None:
        http = model.http
        uri = http["requestUri"].split("?")[0]
        self.made[self.command].add(
            (model.service_model.service_name, model.name, http["method"], uri)
        )

    def policy(self, command: str) -> dict[str, Any]:
        actions: set[str] = set()
        api: dict[str, set[str]] = defaultdict(set)
        for service, operation, verb, uri in self.made[command]:
            if service == "apigateway":
                path = re.sub(r"\{[^}]+\}", "*", uri)
                api[f"apigateway:{verb}"].add(f"arn:aws:apigateway:*::{path}")
            else:
                action = _ACTION.get((service, operation), operation)
                actions.add(f"{_PREFIX.get(service, service)}:{action}")
        statements: list[dict[str, Any]] = [
            {"Effect": "Allow", "Action": action, "Resource": sorted(resources)}
            for action, resources in sorted(api.items())
        ]
        if actions:
            statements.append({"Effect": "Allow", "Action": sorted(actions), "Resource": "*"})
        return {"Version": "2012-10-17", "Statement": statements}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Every boto3 session query-migrate opens records its calls here."""
    recorded = Calls()
    original = boto3.session.Session

    class Recording(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.events.register("before-call", recorded)

    monkeypatch.setattr(boto3.session, "Session", Recording)
    return recorded


def _args(api: Any, record: Path) -> list[str]:
    return ["--api-id", api.api_id, "--alias-arn", api.alias_arn, "--record", str(record)]


def test_the_documented_policies_are_the_calls_each_command_makes(
    run, calls, running: Running, aws, stack, tmp_path
) -> None:
    apigateway, api_id = aws("apigateway"), running.api_id
    lam = aws("lambda")
    alias_arn = lam.get_alias(FunctionName="query-lambda", Name="live")["AliasArn"]
    api = type("Api", (), {"api_id": api_id, "alias_arn": alias_arn})

    # An integration response: attach and detach write it back too.
    result = apigateway.get_resources(restApiId=api_id)["items"]
    result_id = next(r["id"] for r in result if r["path"] == "/query/result")
    apigateway.put_method_response(
        restApiId=api_id, resourceId=result_id, httpMethod="POST", statusCode="200"
    )
    apigateway.put_integration_response(
        restApiId=api_id, resourceId=result_id, httpMethod="POST", statusCode="200"
    )
    apigateway.create_deployment(restApiId=api_id, stageName="prod")

    calls.command = "discover"
    out = str(tmp_path / "c.json")
    assert run("discover", "--api-id", api_id, "--output", out).exit_code == 0

    calls.command = "attach"
    stack("QueryStack", {"QueryLambdaAliasArn": alias_arn})
    apigateway.create_deployment(restApiId=api_id, stageName="staging")
    lam.remove_permission(FunctionName="query-lambda", Qualifier="live", StatementId="public-api")
    lam.add_permission(
        FunctionName="query-lambda",
        Qualifier="live",
        StatementId="stack",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/prod/*/query/*",
    )
    attach = ["attach", "--stack", "QueryStack", "--api-id", api_id]
    record = tmp_path / "attach.json"
    assert run(*attach, "--dry-run").exit_code == 0
    assert run(*attach, "--record", str(record)).exit_code == 0

    calls.command = "retire-marketing"
    retire = ["retire-marketing", *_args(api, tmp_path / "retire.json")]
    assert run(*retire).exit_code == 1  # nothing to count from: stage and that is all
    apigateway.update_stage(
        restApiId=api_id,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"}],
    )
    assert run(*retire).exit_code == 0
    logs = aws("logs")
    logs.create_log_group(logGroupName="access")
    apigateway.update_stage(
        restApiId=api_id,
        stageName="staging",
        patchOperations=[
            {
                "op": "replace",
                "path": "/accessLogSettings/destinationArn",
                "value": "arn:aws:logs:us-east-1:123456789012:log-group:access",
            },
            {"op": "replace", "path": "/accessLogSettings/format", "value": "$context.path"},
        ],
    )
    staging = ["--api-stage", "staging", "--record", str(tmp_path / "retire-staging.json")]
    retired = run("retire-marketing", "--api-id", api_id, "--alias-arn", alias_arn, *staging)
    assert retired.exit_code == 0, retired.stderr

    calls.command = "detach"
    assert run("detach", str(tmp_path / "retire.json")).exit_code == 0
    apigateway.create_deployment(restApiId=api_id, stageName="prod")
    assert run("detach", str(record)).exit_code == 0

    for command in ("discover", "attach", "retire-marketing", "detach"):
        text = json.dumps(calls.policy(command), indent=2) + "\n"
        check_snippet(f"policies/{command}.json", text, exact=True)


def test_smoke_and_shadow_policies_are_the_calls_they_make(
    run, calls, running: Running, aws, stack, tmp_path
) -> None:
    """smoke reads the phase and invokes alias live as the test identity (and the Query
    Result Lambda's direct door, and the log groups); shadow's query-lambda side invokes
    the alias. Neither needs a host in the Query Lambda's security group."""
    lam = aws("lambda")
    alias_arn = lam.get_alias(FunctionName="query-lambda", Name="live")["AliasArn"]
    # moto runs a function's code only in Docker, which the tests have not: the invocations
    # go to functions it does not have (a 404, after the call was recorded).
    gone = alias_arn.replace(":function:query-lambda:", ":function:query-lambda-gone:")
    aws("logs").create_log_group(logGroupName="/query/query-lambda")
    outputs = {
        "QueryLambdaAliasArn": gone,
        "QueryLambdaFunctionName": "query-lambda",
        "QueryResultFunctionName": "query-result-gone",
        "LogGroupNames": "query-lambda=/query/query-lambda",
        "CodeDeployApplicationName": "query-app",
        "CodeDeployDeploymentGroupName": "live",
        "QueryLambdaSecurityGroupId": running.eks_sg,
    }
    stack("QueryStack", outputs)
    context = ["-c", f"existingPublicApiId={running.api_id}", "-c", "ownerClaim=sub"]

    def page(request: RecordedRequest) -> Reply:  # the public URL: a page, its id echoed
        echo = {"x-request-id": request.headers.get("x-request-id", "")}
        body = b'{"user_id": "u-1", "items": [], "count": 0, "next_token": null}'
        return Reply(status=200, body=body, headers=echo)

    calls.command = "smoke"
    smoke = ["smoke", "--stack", "QueryStack", *context, "--identity", "u-1", "--user", "u-1"]
    with MisbehavingServer(page) as public:
        result = run(*smoke, "--public-url", public.url, "--log-wait", "0")
    assert result.exit_code == 1, result.stderr  # the invocations fail: the calls are what count
    calls.command = "shadow"
    users = tmp_path / "users.txt"
    users.write_text("u-1\n")
    shadow = ["shadow", "--stack", "QueryStack", "--old", "http://127.0.0.1:9"]
    shadow += ["--new", f"query-lambda:{gone}", "--as-owner", "--users", str(users), "--rate", "0"]
    assert run(*shadow).exit_code == 1  # nothing answers: errors, and the calls made

    for command in ("smoke", "shadow"):
        assert ("lambda", "Invoke", "POST", "/2015-03-31/functions/{FunctionName}/invocations") in (
            calls.made[command]
        )
        text = json.dumps(calls.policy(command), indent=2) + "\n"
        check_snippet(f"policies/{command}.json", text, exact=True)
