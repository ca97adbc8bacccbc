"""retire-marketing against moto: the use from the stage's metrics or access log, then the
marketing integrations on the alias (whose Query Lambda answers 410), undone by detach."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from query_migrate._restapi import lambda_uri

MARKETING = ("ANY /query/marketing", "ANY /query/marketing/{proxy+}")


def _args(api, record: Path) -> list[str]:
    return ["--api-id", api.api_id, "--alias-arn", api.alias_arn, "--record", str(record)]


def _metrics_on(aws, api) -> None:
    aws("apigateway").update_stage(
        restApiId=api.api_id,
        stageName=api.stage,
        patchOperations=[{"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"}],
    )


def _requests(aws, path: str, count: float, days_ago: int = 3) -> None:
    aws("cloudwatch").put_metric_data(
        Namespace="AWS/ApiGateway",
        MetricData=[
            {
                "MetricName": "Count",
                "Dimensions": [
                    {"Name": "ApiName", "Value": "public-query-api"},
                    {"Name": "Stage", "Value": "prod"},
                    {"Name": "Resource", "Value": path},
                    {"Name": "Method", "Value": "ANY"},
                ],
                "Timestamp": datetime.now(UTC) - timedelta(days=days_ago),
                "Value": count,
            }
        ],
    )


def test_retire_refuses_when_the_use_is_unknown(run, public_api, moto, tmp_path) -> None:
    before = public_api.snapshot(moto)
    result = run("retire-marketing", *_args(public_api, tmp_path / "r.json"))
    assert result.exit_code == 1
    assert "is unknown (no detailed metrics on the stage, no access log)" in result.stderr
    assert public_api.snapshot(moto) == before


def test_retire_counts_the_metrics_and_refuses_a_used_path_unless_forced(
    run, public_api, moto, aws, tmp_path
) -> None:
    _metrics_on(aws, public_api)
    _requests(aws, "/query/marketing/{proxy+}", 7)
    _requests(aws, "/query/marketing", 5, days_ago=40)  # older than --days
    _requests(aws, "/query/result", 100)  # another path
    before = public_api.snapshot(moto)
    record = tmp_path / "r.json"
    refused = run("retire-marketing", *_args(public_api, record), "--days", "30")
    assert refused.exit_code == 1
    assert "answered 7 requests in the last 30 days (metrics)" in refused.stderr
    assert "ANY /query/marketing/{proxy+}: 7" in refused.stdout
    assert public_api.snapshot(moto) == before

    dry = run.json(
        "retire-marketing", *_args(public_api, record), "--days", "60", "--dry-run", code=1
    )
    assert dry["usage"]["requests"] == 12
    assert dry["ok"] is False
    assert public_api.snapshot(moto) == before

    forced = run.json("retire-marketing", *_args(public_api, record), "--force")
    assert forced["changed"] is True
    after = public_api.snapshot(moto)
    for method in MARKETING:
        assert json.loads(after[method])["uri"] == lambda_uri(public_api.alias_arn)
    assert after["POST /query/result"] == before["POST /query/result"]


def test_retire_an_unused_path_and_bring_it_back_on_its_own(
    run, public_api, moto, aws, tmp_path
) -> None:
    first = public_api.deployment(moto)
    attach_record, retire_record = tmp_path / "attach.json", tmp_path / "retire.json"
    assert run("attach", *_args(public_api, attach_record)).exit_code == 0
    _metrics_on(aws, public_api)  # (moto's CreateDeployment drops the stage's settings)
    attached = public_api.snapshot(moto)
    retired = run.json("retire-marketing", *_args(public_api, retire_record))
    assert retired["usage"] == {
        "days": 30,
        "source": "metrics",
        "requests": 0,
        "byMethod": {"ANY /query/marketing": 0, "ANY /query/marketing/{proxy+}": 0},
        "detail": "AWS/ApiGateway Count of public-query-api/prod",
        "testIdentityRequests": 0,
    }
    # Undo the retirement alone: the stage goes back to attach's deployment.
    undone = run.json("detach", str(retire_record))
    assert undone["stageRestored"] == "previous"
    assert public_api.snapshot(moto) == attached
    assert run.json("detach", str(attach_record))["stageRestored"] == "previous"
    assert public_api.deployment(moto) == first


def _access_log(aws, api, log_format: str, messages: list[str]) -> None:
    """Stage prod's access log in ``log_format``, holding ``messages`` (the last a second ago)."""
    logs = aws("logs")
    logs.create_log_group(logGroupName="api-access")
    logs.create_log_stream(logGroupName="api-access", logStreamName="s")
    now = int(time.time() * 1000)
    events = [{"timestamp": now - 1000 * (len(messages) - i), "message": m}
              for i, m in enumerate(messages)]  # fmt: skip
    logs.put_log_events(logGroupName="api-access", logStreamName="s", logEvents=events)
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:api-access"
    aws("apigateway").update_stage(
        restApiId=api.api_id,
        stageName="prod",
        patchOperations=[
            {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": arn},
            {"op": "replace", "path": "/accessLogSettings/format", "value": log_format},
        ],
    )


#: The rehearsal's fixture's format (AWS's JSON example and the authorizer's sub), shortened.
_WHO = (
    '{"requestId":"$context.requestId","sub":"$context.authorizer.claims.sub",'
    '"resourcePath":"$context.resourcePath","status":"$context.status"}'
)


def _line(sub: str, path: str, status: int = 410) -> str:
    return _WHO.replace("$context.requestId", "r-1").replace(
        "$context.authorizer.claims.sub", sub).replace("$context.resourcePath", path).replace(
        "$context.status", str(status))  # fmt: skip


def test_retire_leaves_out_the_test_identitys_lines_when_the_log_names_the_caller(
    run, public_api, moto, aws, tmp_path
) -> None:
    """smoke's own request on the public URL (as the test identity) is not a client's use.
    Fails without the caller read from the log: the test identity's line counts and the path
    is refused, and the metrics (which cannot tell callers apart) would count it too."""
    _metrics_on(aws, public_api)
    _requests(aws, "/query/marketing", 1)  # smoke's request, as CloudWatch counts it
    _access_log(aws, public_api, _WHO, [_line("u-1001", "/query/marketing"),
                                        _line("u-1001", "/query/result", 200)])  # fmt: skip
    identity = ["-c", "canaryTestUserId=u-1001", "-c", "ownerClaim=sub"]
    args = [*_args(public_api, tmp_path / "r.json"), "--dry-run"]
    usage = run.json("retire-marketing", *args, *identity)["usage"]
    assert (usage["source"], usage["requests"], usage["testIdentityRequests"]) == (
        "access log", 0, 1)  # fmt: skip
    assert "1 more of the test identity u-1001, not counted" in usage["detail"]
    # Without a test identity the metrics count smoke's request: refused.
    assert run.json("retire-marketing", *args, code=1)["usage"]["source"] == "metrics"
    # Another caller's line is a client's use.
    aws("logs").put_log_events(logGroupName="api-access", logStreamName="s", logEvents=[
        {"timestamp": int(time.time() * 1000), "message": _line("u-2002", "/query/marketing/x")}
    ])  # fmt: skip
    refused = run("retire-marketing", *args[:-1], *identity)
    assert refused.exit_code == 1
    assert "answered 1 requests in the last 30 days (access log)" in refused.stderr


def test_caller_of_reads_the_variable_where_the_format_puts_it() -> None:
    from query_migrate.retire import caller_of

    variable = "$context.authorizer.claims.sub"
    assert caller_of(_line("u-7", "/query/marketing"), _WHO, variable) == "u-7"
    common = "$context.identity.sourceIp - [$context.requestTime] $context.authorizer.claims.sub."
    assert caller_of("10.0.0.1 - [06/Dec/2026:03:00:00 +0000] u-8.", common, variable) == "u-8"
    assert caller_of("a line of another format", common, variable) is None
    assert caller_of(_line("u-7", "/x"), _WHO, "$context.identity.caller") is None


def test_retire_counts_the_access_log_lines(run, public_api, moto, aws, tmp_path) -> None:
    _access_log(aws, public_api, '{"path": "$context.resourcePath", "status": "$context.status"}',
                ['{"path": "/query/result", "status": 200}',
                 '{"path": "/query/marketing/x", "status": 200}'])  # fmt: skip
    result = run("retire-marketing", *_args(public_api, tmp_path / "r.json"))
    assert result.exit_code == 1
    assert "answered 1 requests in the last 30 days (access log)" in result.stderr
