"""attach and detach against moto's API Gateway and Lambda, over HTTP."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from query_migrate._restapi import PUT_PARAMETERS, lambda_uri


def _add_method(apigateway, api_id: str) -> None:
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    other = apigateway.create_resource(restApiId=api_id, parentId=root, pathPart="other")["id"]
    apigateway.put_method(
        restApiId=api_id, resourceId=other, httpMethod="GET", authorizationType="NONE"
    )


def _args(api, record: Path) -> list[str]:
    return ["--api-id", api.api_id, "--alias-arn", api.alias_arn, "--record", str(record)]


def test_put_parameters_are_botocores_model(aws) -> None:
    """The fields attach writes back are PutIntegration's own (a new field would be refused)."""
    model = aws("apigateway").meta.service_model.operation_model("PutIntegration")
    members = set(model.input_shape.members) - {
        "restApiId",
        "resourceId",
        "httpMethod",
        "integrationHttpMethod",
    }
    assert members == PUT_PARAMETERS


def test_dry_run_changes_nothing(run, public_api, moto, tmp_path) -> None:
    before = public_api.snapshot(moto)
    deployment = public_api.deployment(moto)
    record = tmp_path / "record.json"
    result = run("attach", *_args(public_api, record), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run: nothing changed" in result.stdout
    assert "POST /query/result" in result.stdout
    assert public_api.snapshot(moto) == before
    assert public_api.deployment(moto) == deployment
    assert not record.exists()


def test_attach_then_detach_restores_every_integration_and_the_deployment(
    run, public_api, moto, tmp_path
) -> None:
    before = public_api.snapshot(moto)
    first_deployment = public_api.deployment(moto)
    record = tmp_path / "record.json"

    attached = run.json("attach", *_args(public_api, record))
    assert attached["changed"] is True
    assert attached["previousDeploymentId"] == first_deployment
    after_attach = public_api.snapshot(moto)
    alias_uri = lambda_uri(public_api.alias_arn)
    integration = json.loads(after_attach["POST /query/result"])
    original = json.loads(before["POST /query/result"])
    # Only the URI changed: timeout, parameters, content handling are kept.
    assert {**original, "uri": alias_uri} == integration
    # /query/marketing is retire-marketing's step; CORS preflight is API Gateway's.
    for method in (
        "ANY /query/marketing",
        "ANY /query/marketing/{proxy+}",
        "OPTIONS /query/result",
    ):
        assert after_attach[method] == before[method]
    attach_deployment = public_api.deployment(moto)
    assert attach_deployment != first_deployment
    assert json.loads(record.read_text())["methods"][0]["integration"]["uri"] != alias_uri

    # attach again: nothing to do, and the record is not overwritten.
    again = run("attach", *_args(public_api, record))
    assert again.exit_code == 0
    assert "already attached" in again.stdout

    detached = run("detach", str(record))
    assert detached.exit_code == 0, detached.output + detached.stderr
    assert "byte for byte" in detached.stdout
    assert public_api.snapshot(moto) == before
    # The stage is back on the deployment it was on, not on a new one.
    assert public_api.deployment(moto) == first_deployment
    assert json.loads(record.read_text())["detachedAt"]

    # The same record cannot be detached twice.
    twice = run("detach", str(record))
    assert twice.exit_code == 1
    assert "already detached" in twice.stderr


def test_attach_reads_the_alias_from_the_stack_and_the_api_from_the_context(
    run, public_api, moto, stack, tmp_path
) -> None:
    stack("QueryStack", {"QueryLambdaAliasArn": public_api.alias_arn})
    record = tmp_path / "r.json"
    result = run(
        "attach",
        "--stack",
        "QueryStack",
        "-c",
        f"existingPublicApiId={public_api.api_id}",
        "-c",
        'existingPublicApiPaths=["/query/result"]',
        "--record",
        str(record),
    )
    assert result.exit_code == 0, result.output + result.stderr
    snapshot = public_api.snapshot(moto)
    assert json.loads(snapshot["POST /query/result"])["uri"] == lambda_uri(public_api.alias_arn)
    # Only the listed path was attached.
    assert json.loads(snapshot["ANY /query/marketing"])["uri"] != lambda_uri(public_api.alias_arn)


def test_attach_refuses_an_integration_it_does_not_know(
    run, public_api, moto, aws, tmp_path
) -> None:
    aws("apigateway").put_integration(
        restApiId=public_api.api_id,
        resourceId=public_api.resources["/query/result"],
        httpMethod="POST",
        type="HTTP_PROXY",
        integrationHttpMethod="POST",
        uri="https://eks.example.com/q",
    )
    before = public_api.snapshot(moto)
    record = tmp_path / "r.json"
    result = run("attach", *_args(public_api, record))
    assert result.exit_code == 1
    assert "integration type HTTP_PROXY" in result.stderr
    assert public_api.snapshot(moto) == before
    assert not record.exists()


def test_attach_refuses_a_method_anyone_may_call(run, public_api, moto, aws, tmp_path) -> None:
    public_api.set_auth(moto, "/query/result", "POST", "NONE")
    before = public_api.snapshot(moto)
    record = tmp_path / "r.json"
    result = run("attach", *_args(public_api, record))
    assert result.exit_code == 1
    assert "POST /query/result: authorizationType NONE" in result.stderr
    assert "--allow-unauthenticated" in result.stderr
    assert public_api.snapshot(moto) == before
    assert not record.exists()
    allowed = run.json("attach", *_args(public_api, record), "--allow-unauthenticated")
    assert allowed["changed"] is True
    assert {"method": "POST /query/result", "authorizationType": "NONE", "authorizer": ""} in (
        allowed["authorization"]
    )


def test_attach_reports_each_methods_authorizer(run, public_api, moto, aws, tmp_path) -> None:
    apigateway = aws("apigateway")
    pool = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_abc"
    authorizer = apigateway.create_authorizer(
        restApiId=public_api.api_id,
        name="users",
        type="COGNITO_USER_POOLS",
        providerARNs=[pool],
        identitySource="method.request.header.Authorization",
    )["id"]
    public_api.set_auth(moto, "/query/result", "POST", "COGNITO_USER_POOLS", authorizer)
    result = run("attach", *_args(public_api, tmp_path / "r.json"), "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"POST /query/result: COGNITO_USER_POOLS users ({authorizer})" in result.stdout
    assert "ANY /query/marketing: AWS_IAM" not in result.stdout  # retire-marketing's paths
    assert "authorization: " in result.stdout


def test_attach_refuses_a_missing_path(run, public_api, moto, tmp_path) -> None:
    result = run("attach", *_args(public_api, tmp_path / "r.json"), "--path", "/query/other")
    assert result.exit_code == 1
    assert "has no resource /query/other" in result.stderr


def test_attach_refuses_an_alias_the_api_may_not_invoke(run, make_api, moto, tmp_path) -> None:
    api = make_api(grant=False)
    before = api.snapshot(moto)
    result = run("attach", *_args(api, tmp_path / "r.json"))
    assert result.exit_code == 1
    assert "no permission" in result.stderr
    assert api.snapshot(moto) == before


def test_attach_refuses_to_overwrite_a_record_not_yet_detached(
    run, public_api, moto, aws, tmp_path
) -> None:
    record = tmp_path / "r.json"
    assert run("attach", *_args(public_api, record)).exit_code == 0
    # Somebody put one integration back by hand: attach has work again, but the record stays.
    original = json.loads(record.read_text())["methods"][0]
    aws("apigateway").put_integration(
        restApiId=public_api.api_id,
        resourceId=original["resource_id"],
        httpMethod=original["http_method"],
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=original["integration"]["uri"],
    )
    result = run("attach", *_args(public_api, record))
    assert result.exit_code == 1
    assert "not detached" in result.stderr


def test_detach_refuses_an_integration_changed_since_attach_unless_forced(
    run, public_api, moto, aws, tmp_path
) -> None:
    before = public_api.snapshot(moto)
    record = tmp_path / "r.json"
    assert run("attach", *_args(public_api, record)).exit_code == 0
    apigateway = aws("apigateway")
    apigateway.put_integration(
        restApiId=public_api.api_id,
        resourceId=public_api.resources["/query/result"],
        httpMethod="POST",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=lambda_uri(public_api.old_function_arn.replace("old-query-lambda", "third")),
    )
    refused = run("detach", str(record))
    assert refused.exit_code == 1
    assert "changed since attach" in refused.stderr

    dry = run("detach", str(record), "--force", "--dry-run")
    assert dry.exit_code == 0
    assert "changed since attach" in dry.stdout

    forced = run("detach", str(record), "--force")
    assert forced.exit_code == 0, forced.stderr
    assert public_api.snapshot(moto) == before


def test_attach_needs_an_api_and_an_alias(run, tmp_path) -> None:
    result = run("attach", "--alias-arn", "arn:aws:lambda:us-east-1:123456789012:function:q:live")
    assert result.exit_code == 2
    assert "--api-id is needed" in result.stderr
    result = run("attach", "--api-id", "abc123")
    assert result.exit_code == 2
    assert "--alias-arn is needed (no --stack given)" in result.stderr


def test_an_unknown_api_is_an_aws_error(run) -> None:
    result = run(
        "attach",
        "--api-id",
        "nope",
        "--alias-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:q:live",
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("query-migrate: GetStage nope/prod failed: NotFoundException")


@pytest.mark.parametrize(
    ("arn", "uri"),
    [
        (
            "arn:aws:lambda:eu-west-1:123456789012:function:q:live",
            "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
            "arn:aws:lambda:eu-west-1:123456789012:function:q:live/invocations",
        ),
        (
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:q",
            "arn:aws-cn:apigateway:cn-north-1:lambda:path/2015-03-31/functions/"
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:q/invocations",
        ),
    ],
)
def test_lambda_uri(arn: str, uri: str) -> None:
    assert lambda_uri(arn) == uri


def test_detach_refuses_a_damaged_record_or_another_region(run, public_api, tmp_path) -> None:
    record = tmp_path / "r.json"
    assert run("attach", *_args(public_api, record)).exit_code == 0
    data = json.loads(record.read_text())
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps({**data, "methods": [{"path": "/query/result"}]}))
    result = run("detach", str(damaged))
    assert result.exit_code == 2
    assert "the attach record is damaged" in result.stderr
    result = run("detach", str(record), "--region", "eu-west-1")
    assert result.exit_code == 2
    assert "pass --region us-east-1" in result.stderr
    not_json = tmp_path / "x.json"
    not_json.write_text("{")
    assert run("detach", str(not_json)).exit_code == 2


def test_attach_refuses_an_api_changed_since_the_reviewed_plan(
    run, public_api, moto, aws, tmp_path
) -> None:
    record = tmp_path / "r.json"
    plan = run.json("attach", *_args(public_api, record), "--dry-run")
    assert plan["undeployedChanges"] == []
    # Somebody adds a method elsewhere in the API after the review.
    _add_method(aws("apigateway"), public_api.api_id)
    before = public_api.snapshot(moto)
    refused = run("attach", *_args(public_api, record), "--plan-hash", plan["planHash"])
    assert refused.exit_code == 1
    assert "changed since the plan you reviewed" in refused.stderr
    assert public_api.snapshot(moto) == before
    assert not record.exists()
    forced = run("attach", *_args(public_api, record), "--plan-hash", plan["planHash"], "--force")
    assert forced.exit_code == 0, forced.stderr


def test_attach_grants_the_other_stages_and_detach_removes_the_grants(
    run, make_api, aws, tmp_path
) -> None:
    api = make_api(grant=False)
    lam, apigateway = aws("lambda"), aws("apigateway")
    apigateway.create_deployment(restApiId=api.api_id, stageName="staging")
    # What the stack grants: the configured stage only, per path.
    lam.add_permission(
        FunctionName="query-lambda",
        Qualifier="live",
        StatementId="stack",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:us-east-1:123456789012:{api.api_id}/prod/*/query/result",
    )
    record = tmp_path / "r.json"
    attached = run.json("attach", *_args(api, record))
    staging = f"arn:aws:execute-api:us-east-1:123456789012:{api.api_id}/staging/*/query/result"
    assert attached["grantedPermissions"] == [f"query-migrate-{api.api_id}-staging-0"]

    def sources() -> list[str]:
        policy = json.loads(lam.get_policy(FunctionName="query-lambda", Qualifier="live")["Policy"])
        return [s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in policy["Statement"]]

    assert staging in sources()
    # Stage by stage: no grant lets TestInvokeMethod (test-invoke-stage) in (docs/security.md).
    test_invoke = staging.replace("/staging/*/", "/test-invoke-stage/POST/")
    assert not any(fnmatchcase(test_invoke, source) for source in sources())
    assert run("detach", str(record)).exit_code == 0
    assert staging not in sources()
    assert len(sources()) == 1


def test_detach_after_a_later_deployment_deploys_the_restored_api(
    run, public_api, moto, aws, tmp_path
) -> None:
    before = public_api.snapshot(moto)
    first = public_api.deployment(moto)
    record = tmp_path / "r.json"
    assert run("attach", *_args(public_api, record)).exit_code == 0
    attached = public_api.deployment(moto)
    aws("apigateway").create_deployment(restApiId=public_api.api_id, stageName="prod")
    later = public_api.deployment(moto)
    detached = run.json("detach", str(record))
    assert detached["stageRestored"] == "redeployed"
    assert public_api.deployment(moto) not in {first, attached, later}
    assert public_api.snapshot(moto) == before


def test_detach_refuses_an_api_changed_since_attach_unless_forced(
    run, public_api, moto, aws, tmp_path
) -> None:
    record = tmp_path / "r.json"
    assert run("attach", *_args(public_api, record)).exit_code == 0
    _add_method(aws("apigateway"), public_api.api_id)
    refused = run("detach", str(record))
    assert refused.exit_code == 1
    assert "changed since attach (hash" in refused.stderr
    assert run("detach", str(record), "--force").exit_code == 0


def test_every_command_takes_the_region_from_the_context(run, public_api, tmp_path) -> None:
    """The context's region, not the shell's (AWS_REGION=us-east-1 here)."""
    result = run("attach", *_args(public_api, tmp_path / "r.json"), "-c", "region=eu-west-1")
    assert result.exit_code == 2
    assert "GetStage" in result.stderr
    assert "NotFoundException" in result.stderr
    both = run(
        "attach",
        *_args(public_api, tmp_path / "r.json"),
        "-c",
        "region=eu-west-1",
        "--region",
        "us-east-1",
    )
    assert both.exit_code == 2
    assert "--region us-east-1, but the context's region is eu-west-1" in both.stderr
