"""Side doors past the APIs (docs/security.md#side-doors), in the whole synthesized app.

No Lambda permission lets API Gateway's TestInvokeMethod (stage ``test-invoke-stage``) or
any stage (``*``) invoke a function; the Query Result Lambda's resource policy denies every
principal but API Gateway's route (and the task role while the rollback source is enabled);
each function is told which events are its own.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

VARIANTS = ["fresh", "existing", "existing_api"]


def render(value: Any) -> str:
    """A template value as text: ``Fn::Join`` joined, a reference as ``<Ref:Id>``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(render(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"<Ref:{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<GetAtt:{'.'.join(value['Fn::GetAtt'])}>"
    return json.dumps(value, sort_keys=True)


def stage_of(source_arn: str) -> str:
    """The stage of an execute-api ARN (``arn:…:execute-api:region:account:api/STAGE/…``)."""
    _, _, rest = source_arn.rpartition(":execute-api:")
    return rest.split(":", 2)[2].split("/")[1]


def invoke_sources(template: dict[str, Any]) -> list[str]:
    """Every source ARN API Gateway may invoke a function from: permissions and policies."""
    sources = []
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::Permission" and "SourceArn" in properties:
            sources.append(render(properties["SourceArn"]))
        if resource["Type"] == "AWS::Lambda::ResourcePolicy":
            for statement in properties["PolicyDocument"]["Statement"]:
                if statement["Effect"] == "Allow":
                    arn = statement["Condition"]["ArnLike"]["aws:SourceArn"]
                    sources.append(render(arn))
    return sources


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_permission_lets_test_invoke_or_every_stage_in(variant, request):
    sources = invoke_sources(request.getfixturevalue(variant).template)
    assert sources
    for source in sources:
        assert "test-invoke-stage" not in source, source
        assert "*" not in stage_of(source), source


def test_the_existing_apis_grants_name_its_stage(existing_api):
    sources = [s for s in invoke_sources(existing_api.template) if ":a1b2c3d4e5/" in s]
    assert sources
    assert {stage_of(s) for s in sources} == {"v1"}


def _function(synth: Any, handler: str) -> dict[str, Any]:
    (function,) = [
        f["Properties"]
        for f in synth.resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == handler
    ]
    return function


def _environment(synth: Any, handler: str) -> dict[str, Any]:
    return _function(synth, handler)["Environment"]["Variables"]


@pytest.mark.parametrize(
    ("variant", "sources"), [("fresh", "rest_v1"), ("existing", "rest_v1,direct")]
)
def test_the_direct_door_is_open_only_for_the_rollback_source(variant, sources, request):
    synth = request.getfixturevalue(variant)
    environment = _environment(synth, "lambdas.query_result.handler.handler")
    assert environment["EVENT_SOURCES"] == sources


def _function_policy(synth: Any) -> list[dict[str, Any]]:
    (policy,) = synth.resources("AWS::Lambda::ResourcePolicy").values()
    document = policy["Properties"]["PolicyDocument"]
    return (
        document["Statement"] if isinstance(document, dict) else json.loads(document)["Statement"]
    )


def test_nobody_but_api_gateway_invokes_the_query_result_lambda(fresh):
    (permission_holders,) = [s for s in _function_policy(fresh) if s["Effect"] == "Allow"]
    assert permission_holders["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert render(permission_holders["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(
        "/prod/POST/query/result"
    )
    deny = {s["Sid"]: s for s in _function_policy(fresh) if s["Effect"] == "Deny"}
    assert deny["NobodyElse"]["Condition"] == {"Bool": {"aws:PrincipalIsAWSService": "false"}}
    assert deny["NobodyElse"]["Principal"] == {"AWS": "*"}
    assert deny["NoFunctionUrl"]["Action"] == "lambda:InvokeFunctionUrl"
    assert not fresh.resources("AWS::Lambda::Permission") or all(
        "QueryResult" not in render(p["Properties"]["FunctionName"])
        for p in fresh.resources("AWS::Lambda::Permission").values()
    )


def test_with_the_rollback_source_only_the_task_role_is_let_through(existing):
    deny = {s["Sid"]: s for s in _function_policy(existing) if s["Effect"] == "Deny"}
    condition = deny["NobodyElseButTheTaskRole"]["Condition"]
    assert condition["Bool"] == {"aws:PrincipalIsAWSService": "false"}
    assert render(condition["ArnNotEquals"]["aws:PrincipalArn"]).startswith(
        "<GetAtt:ServiceTaskRole"
    )


def test_the_query_lambda_and_its_check_know_the_created_apis_id(fresh, existing):
    environment = _environment(fresh, "lambdas.query.handler.handler")
    (public,) = [
        name
        for name, api in fresh.resources("AWS::ApiGateway::RestApi").items()
        if "query-public" in json.dumps(api["Properties"]["Name"])
    ]
    assert environment["PUBLIC_API_ID"] == {"Ref": public}
    check = _environment(existing, "lambdas.canary_check.handler.handler")
    assert (
        check["PUBLIC_API_ID"]
        == _environment(existing, "lambdas.query.handler.handler")["PUBLIC_API_ID"]
    )


def test_the_query_lambda_and_its_check_know_the_existing_apis_id(existing_api):
    for handler in ("lambdas.query.handler.handler", "lambdas.canary_check.handler.handler"):
        assert _environment(existing_api, handler)["PUBLIC_API_ID"] == "a1b2c3d4e5"
