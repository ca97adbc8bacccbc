"""The rules that lived inside the commands, tested as functions: no CliRunner, no AWS.

attach's refusal of an undetached record and of a method anyone may call, shadow's targets
and request bodies, smoke's targets and default auth, status's watch loop.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from query_migrate._aws import Aws
from query_migrate._errors import MigrateError, RefusedError
from query_migrate._inputs import Context, Outputs
from query_migrate._restapi import export_differences
from query_migrate.attach import RECORD_FORMAT, AttachPlan, refuse_undetached
from query_migrate.auth import MethodAuth, auth_check, refuse_unauthenticated
from query_migrate.retire import Usage, metrics_enabled, refuse_used
from query_migrate.shadow import Answer, HttpTarget, InvokeTarget, parse_target, request_bodies
from query_migrate.smoke import public_auth, smoke_targets
from query_migrate.status import Status, watch


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, fake_aws_credentials) -> Aws:
    monkeypatch.delenv("AWS_DEFAULT_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    return Aws(region="eu-west-1")


def _record(path: Path, **fields: str) -> Path:
    record = {
        "format": RECORD_FORMAT,
        "region": "eu-west-1",
        "apiId": "a1",
        "stage": "prod",
        "aliasArn": "arn:aws:lambda:eu-west-1:123456789012:function:q:live",
        "methods": [],
        **fields,
    }
    path.write_text(json.dumps(record))
    return path


def test_attach_refuses_a_record_not_yet_detached(tmp_path: Path) -> None:
    record = _record(tmp_path / "r.json")
    with pytest.raises(RefusedError, match="holds an attach that was not detached") as refused:
        refuse_undetached(record)
    assert refused.value.exit_code == 1


def test_attach_may_write_over_a_detached_record_or_a_new_path(tmp_path: Path) -> None:
    refuse_undetached(_record(tmp_path / "r.json", detachedAt="2026-01-01T00:00:00Z"))
    refuse_undetached(tmp_path / "absent.json")


def test_attach_does_not_overwrite_a_file_that_is_not_a_record(tmp_path: Path) -> None:
    other = tmp_path / "notes.json"
    other.write_text("{}")
    with pytest.raises(MigrateError, match="not a query-migrate attach record"):
        refuse_undetached(other)


def test_a_shadow_target_is_a_url_or_a_lambda(aws: Aws) -> None:
    invoked = parse_target("lambda:query_result_lambda", aws)
    assert isinstance(invoked, InvokeTarget)
    assert invoked.label == "lambda:query_result_lambda"
    http = parse_target("https://alb.example/", aws, concurrency=2, timeout=1.0)
    assert isinstance(http, HttpTarget)
    assert http.label == "https://alb.example/"
    with pytest.raises(MigrateError, match="an http\\(s\\) URL, lambda:FUNCTION or query-lambda:"):
        parse_target("alb.example", aws)


def test_a_signed_shadow_target_signs_with_the_given_signer(aws: Aws) -> None:
    calls = []

    def signer(method: str, url: str, headers: dict[str, str], body: bytes) -> dict[str, str]:
        calls.append((method, url))
        return {**headers, "authorization": "signed"}

    target = parse_target("http://127.0.0.1:1/v1", aws, sigv4=True, signer=lambda: signer)

    async def send() -> Answer:
        try:
            return await target.send(b"{}", "r-1")  # nothing listens there: an error answer
        finally:
            await target.aclose()

    answer = asyncio.run(send())
    assert calls == [("POST", "http://127.0.0.1:1/v1/query/result")]
    assert answer.status is None
    assert answer.error


def test_shadow_bodies_from_users_with_ap_id_repeated(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text("u-1\n\n  u-2  \n")
    bodies = request_bodies(users=str(users), limit=5, ap_id="ap-9", repeat=2)
    expected = [
        {"user_id": "u-1", "limit": 5, "ap_id": "ap-9"},
        {"user_id": "u-2", "limit": 5, "ap_id": "ap-9"},
    ] * 2
    assert [json.loads(body) for body in bodies] == expected


def test_shadow_bodies_from_a_file_are_sent_as_written(tmp_path: Path) -> None:
    lines = tmp_path / "bodies"
    lines.write_text('{"user_id": "u-1", "next_token": "x"}\n')
    assert request_bodies(bodies=str(lines)) == [b'{"user_id": "u-1", "next_token": "x"}']


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "give exactly one of --bodies FILE and --users FILE"),
        ({"bodies": "a", "users": "b"}, "give exactly one of --bodies FILE and --users FILE"),
        ({"bodies": "/nonexistent/file"}, "/nonexistent/file: No such file or directory"),
    ],
)
def test_shadow_bodies_refuse_bad_input(given: dict[str, str], message: str) -> None:
    with pytest.raises(MigrateError) as refused:
        request_bodies(**given)
    assert str(refused.value) == message
    assert refused.value.exit_code == 2


def test_shadow_bodies_refuse_an_empty_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n\n")
    with pytest.raises(MigrateError, match="the input is empty"):
        request_bodies(bodies=str(empty))


@pytest.mark.parametrize(
    ("given", "stack_says", "expected"),
    [
        (None, "iam", "iam"),
        (None, "none", "none"),
        (None, None, "none"),
        ("none", "iam", "none"),
        ("iam", None, "iam"),
    ],
)
def test_smoke_signs_the_public_api_as_the_stack_says(
    given: str | None, stack_says: str | None, expected: str
) -> None:
    outputs = Outputs(values={"PublicApiAuth": stack_says} if stack_says else {})
    assert public_auth(given, outputs) == expected


def test_smoke_targets_from_the_outputs_and_the_existing_api(aws: Aws) -> None:
    outputs = Outputs(values={"PublicApiAuth": "iam", "ServiceUrl": "http://alb"})
    context = Context({"existingPublicApiId": "a1b2c3", "existingPublicApiStage": "v1"})
    targets = smoke_targets(aws, outputs, context, headers=("Authorization: Bearer t",))
    assert targets.public_url == "https://a1b2c3.execute-api.eu-west-1.amazonaws.com/v1"
    assert targets.service_url is None  # the ALB admits the Query Lambda only: --alb-url
    assert smoke_targets(aws, outputs, context, alb_url="http://alb").service_url == "http://alb"
    assert targets.public_headers == {"Authorization": "Bearer t"}
    assert targets.public_signer is not None
    assert targets.internal_api_url is None
    assert targets.internal_signer is None
    unsigned = smoke_targets(aws, outputs, context, auth="none")
    assert unsigned.public_signer is None
    with pytest.raises(MigrateError, match="expected 'Name: value'"):
        smoke_targets(aws, outputs, context, headers=("no colon",))


def _statuses(*alarm_states: str) -> list[Status]:
    return [
        Status(alarms=[{"name": "a", "state": state, "reason": ""}], at=str(n))
        for n, state in enumerate(alarm_states)
    ]


def test_watch_shows_count_refreshes_sleeping_between_them() -> None:
    pending = _statuses("OK", "OK", "ALARM")
    shown: list[str] = []
    sleeps: list[float] = []
    last = watch(
        lambda: pending.pop(0),
        lambda status: shown.append(status.at),
        interval=7.0,
        count=3,
        sleep=sleeps.append,
    )
    assert shown == ["0", "1", "2"]
    assert sleeps == [7.0, 7.0]
    assert last.ok is False  # the exit code is the last refresh's


def test_watch_without_count_runs_until_ctrl_c_and_keeps_the_last_status() -> None:
    pending = _statuses("ALARM", "OK")
    shown: list[str] = []

    def sleep(seconds: float) -> None:
        if not pending:
            raise KeyboardInterrupt

    last = watch(lambda: pending.pop(0), lambda s: shown.append(s.at), interval=1.0, sleep=sleep)
    assert shown == ["0", "1"]
    assert last.at == "1"
    assert last.ok is True


def test_reading_an_output_the_table_does_not_name_is_a_bug() -> None:
    outputs = Outputs(values={"ServiceUrl": "http://alb", "Renamed": "x"})
    assert outputs.get("ServiceUrl") == "http://alb"
    with pytest.raises(KeyError, match="Renamed is not a stack output"):
        outputs.get("Renamed")


#: A stage's export as API Gateway writes it (GetExport oas30, extensions=integrations).
_EXPORT = {
    "openapi": "3.0.1",
    "paths": {
        "/query/result": {
            "post": {
                "x-amazon-apigateway-integration": {
                    "type": "aws_proxy",
                    "httpMethod": "POST",
                    "uri": "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
                    "arn:aws:lambda:eu-west-1:123456789012:function:old/invocations",
                    "passthroughBehavior": "when_no_match",
                }
            },
            "options": {"x-amazon-apigateway-integration": {"type": "mock"}},
        },
        "/query/marketing/{proxy+}": {
            "parameters": [{"name": "proxy", "in": "path", "required": True}],
            "x-amazon-apigateway-any-method": {
                "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST"}
            },
        },
    },
}


def _working(uri_function: str = "old") -> dict[str, dict[str, object]]:
    uri = (
        "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
        f"arn:aws:lambda:eu-west-1:123456789012:function:{uri_function}/invocations"
    )
    return {
        "POST /query/result": {
            "methodIntegration": {"type": "AWS_PROXY", "httpMethod": "POST", "uri": uri}
        },
        "OPTIONS /query/result": {"methodIntegration": {"type": "MOCK"}},
        "ANY /query/marketing/{proxy+}": {
            "methodIntegration": {"type": "AWS_PROXY", "httpMethod": "POST"}
        },
    }


def test_the_working_copy_the_stage_serves_has_no_undeployed_changes() -> None:
    assert export_differences(_EXPORT, _working()) == []


def test_undeployed_integrations_and_methods_are_named() -> None:
    working = _working("edited")
    working["GET /other"] = {"methodIntegration": {"type": "MOCK"}}
    del working["OPTIONS /query/result"]
    problems = export_differences(_EXPORT, working)
    assert problems[0] == "GET /other: not deployed"
    assert problems[1] == "OPTIONS /query/result: deleted, not deployed"
    assert problems[2].startswith("POST /query/result: integration uri arn:aws:apigateway")
    assert "function:edited" in problems[2]
    assert "function:old" in problems[2]
    assert len(problems) == 3


def test_an_export_without_integrations_is_compared_by_its_methods() -> None:
    """moto's export, or one without the integrations extension: methods only."""
    bare = {"paths": {"/query/result": {"POST": {"responses": {}}}}}
    working = {"POST /query/result": _working()["POST /query/result"]}
    assert export_differences(bare, working) == []


def test_plan_refuses_undeployed_changes_and_a_changed_hash_unless_forced() -> None:
    plan = AttachPlan("a1", "prod", None, "d1", api_hash="h1", undeployed=["GET /x: not deployed"])
    with pytest.raises(RefusedError, match="does not serve yet"):
        plan.refuse(force=False, expected_hash=None, now_hash="h1")
    with pytest.raises(RefusedError, match="changed since the plan you reviewed"):
        plan.refuse(force=False, expected_hash="h0", now_hash="h1")
    with pytest.raises(RefusedError, match="changed while attach was reading it"):
        plan.refuse(force=False, expected_hash=None, now_hash="h2")
    plan.refuse(force=True, expected_hash="h0", now_hash="h2")


def test_retiring_refuses_a_used_or_unknown_path_unless_forced() -> None:
    with pytest.raises(RefusedError, match="answered 3 requests in the last 30 days"):
        refuse_used(Usage(30, "metrics", 3), force=False)
    with pytest.raises(RefusedError, match="is unknown"):
        refuse_used(Usage(30, "", None, detail="no access log"), force=False)
    refuse_used(Usage(30, "metrics", 0), force=False)
    refuse_used(Usage(30, "metrics", 3), force=True)


@pytest.mark.parametrize(
    ("settings", "enabled"),
    [
        ({"*/*": {"metricsEnabled": True}}, True),
        ({"*/*": {"metricsEnabled": False}}, False),
        ({"~1query~1marketing/ANY": {"metricsEnabled": True}}, True),
        ({}, False),
    ],
)
def test_detailed_metrics_of_a_method(settings: dict[str, object], enabled: bool) -> None:
    stage = {"methodSettings": settings}
    assert metrics_enabled(stage, "/query/marketing", "ANY") is enabled


_IAM = MethodAuth("POST /query/result", "AWS_IAM")
_OPEN = MethodAuth("ANY /query/marketing", "NONE")
_COGNITO = MethodAuth("GET /query/x", "COGNITO_USER_POOLS", "users (abc123)")


def test_a_method_anyone_may_call_is_refused_unless_allowed() -> None:
    with pytest.raises(RefusedError, match=r"ANY /query/marketing: authorizationType NONE"):
        refuse_unauthenticated([_IAM, _OPEN], allowed=False)
    refuse_unauthenticated([_IAM, _OPEN], allowed=True)
    refuse_unauthenticated([_IAM, _COGNITO], allowed=False)


def test_the_authorization_check_names_each_methods_authorizer() -> None:
    check = auth_check([_IAM, _COGNITO], allowed=False)
    assert check.verdict == "ok"
    assert (
        check.detail
        == "POST /query/result: AWS_IAM; GET /query/x: COGNITO_USER_POOLS users (abc123)"
    )
    refused = auth_check([_OPEN], allowed=False)
    assert refused.verdict == "fail"
    assert "--allow-unauthenticated" in refused.fix
    assert auth_check([_OPEN], allowed=True).verdict == "ok"
