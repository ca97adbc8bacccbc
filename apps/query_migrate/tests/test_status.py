"""status against moto: the alias's weights, CodeDeploy, alarms and per-version metrics."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def switch(aws, lambda_code, stack, canary) -> dict[str, str]:
    """A canary in flight: alias live on version 1 with 10 % on version 2."""
    role = aws("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = aws("lambda")
    lam.create_function(
        FunctionName="query-lambda",
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": lambda_code},
    )
    first = lam.publish_version(FunctionName="query-lambda")["Version"]
    lam.update_function_configuration(FunctionName="query-lambda", Description="ecs")
    second = lam.publish_version(FunctionName="query-lambda")["Version"]
    lam.create_alias(
        FunctionName="query-lambda",
        Name="live",
        FunctionVersion=first,
        RoutingConfig={"AdditionalVersionWeights": {second: 0.1}},
    )
    deployment = canary("query", "query-live", {first: (90, 0), second: (10, 2)})
    cloudwatch = aws("cloudwatch")
    for name, state in (("query-5xx", "OK"), ("query-latency", "OK")):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            MetricName="Errors",
            Namespace="AWS/Lambda",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")
    stack(
        "QueryStack",
        {
            "QueryLambdaFunctionName": "query-lambda",
            "CodeDeployApplicationName": "query",
            "CodeDeployDeploymentGroupName": "query-live",
            "AlarmNames": "query-5xx,query-latency",
        },
    )
    return {"first": first, "second": second, "deployment": deployment}


def test_status_shows_the_canary(run, switch) -> None:
    report = run.json("status", "--stack", "QueryStack")
    assert report["ok"] is True
    assert report["alias"]["version"] == switch["first"]
    assert report["alias"]["weights"] == {switch["first"]: 0.9, switch["second"]: 0.1}
    assert report["versions"][switch["first"]] == {
        "invocations": 90.0,
        "errors": 0.0,
        "p99_ms": None,
    }
    assert report["versions"][switch["second"]]["errors"] == 2.0
    assert report["deployment"]["id"] == switch["deployment"]
    assert [alarm["state"] for alarm in report["alarms"]] == ["OK", "OK"]
    assert report["errors"] == []
    table = run("status", "--stack", "QueryStack")
    assert table.exit_code == 0
    assert "90%" in table.stdout
    assert "10%" in table.stdout
    assert "healthy" in table.stdout


def test_an_alarm_in_alarm_is_not_healthy(run, switch, aws) -> None:
    aws("cloudwatch").set_alarm_state(AlarmName="query-5xx", StateValue="ALARM", StateReason="5xx")
    report = run.json("status", "--stack", "QueryStack", code=1)
    assert report["ok"] is False
    result = run("status", "--stack", "QueryStack")
    assert result.exit_code == 1
    assert "NOT healthy" in result.stdout


def test_watch_refreshes_and_prints_a_json_line_each_time(run, switch) -> None:
    result = run(
        "status", "--stack", "QueryStack", "--watch", "--interval", "1", "--count", "2", "--json"
    )
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    assert all(line["ok"] for line in lines)
    table = run("status", "--stack", "QueryStack", "--watch", "--interval", "1", "--count", "2")
    assert table.exit_code == 0
    assert "alias query-lambda:live" in table.stdout


def test_a_missing_function_is_an_error_not_healthy(run) -> None:
    report = run.json("status", "--query-lambda", "nope", code=1)
    assert report["errors"]
    assert report["errors"][0].startswith("GetAlias nope:live failed")
