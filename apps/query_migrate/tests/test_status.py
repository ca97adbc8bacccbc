"""status against moto: the alias's weights, CodeDeploy, alarms and per-version metrics."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def switch(query_lambda, stack, canary, alarms) -> dict[str, str]:
    """A canary in flight: alias live on version 1 with 10 % on version 2."""
    lam = query_lambda()
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
    alarms(["query-5xx", "query-latency"])
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


def _table_rows(text: str) -> list[str]:
    """The body rows of rich's tables, without their borders."""
    return [
        " ".join(cell.strip() for cell in line.strip("│").split("│"))
        for line in text.splitlines()
        if line.startswith("│")
    ]


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
    rows = {line.split()[0]: line.split()[1:3] for line in _table_rows(table.stdout)}
    assert rows[f"{switch['first']}"][:2] == ["(alias)", "90%"]
    assert rows[f"{switch['second']}"][0] == "10%"
    assert table.stdout.splitlines()[-1].startswith("healthy at ")


def test_an_alarm_in_alarm_is_not_healthy(run, switch, aws) -> None:
    aws("cloudwatch").set_alarm_state(AlarmName="query-5xx", StateValue="ALARM", StateReason="5xx")
    report = run.json("status", "--stack", "QueryStack", code=1)
    assert report["ok"] is False
    result = run("status", "--stack", "QueryStack")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1].startswith("NOT healthy at ")


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
    assert table.stdout.splitlines()[-1].startswith("healthy at ")


def test_a_missing_function_is_an_error_not_healthy(run) -> None:
    report = run.json("status", "--query-lambda", "nope", code=1)
    assert report["errors"]
    assert report["errors"][0].startswith("GetAlias nope:live failed")
