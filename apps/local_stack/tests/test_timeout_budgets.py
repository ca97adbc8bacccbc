"""Every hop's timeout fits inside its caller's, from the settings' own defaults.

docs/contract.md#timeouts is the table; this test reads the defaults from the settings classes
(the local stack runs both apps, so it may read their settings), checks the relations the
table states, and checks that the table gives the same numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ecs_service.settings import ServiceSettings
from lambdas.query._settings import QueryLambdaSettings
from lambdas.query_result._settings import QueryResultSettings

CONTRACT_PAGE = Path(__file__).resolve().parents[3] / "docs" / "contract.md"
#: API Gateway's integration limit for REST APIs (both the public and the private API).
API_GATEWAY_SECONDS = 29.0
#: The functions' timeouts, set in infra (infra/src/query_infra/edge.py, internal_api.py).
QUERY_LAMBDA_SECONDS = 28.0
QUERY_RESULT_LAMBDA_SECONDS = 15.0


def botocore_backoff_bound(attempts: int) -> float:
    """The longest botocore's standard mode sleeps between ``attempts`` attempts.

    Its backoff before retry i (1-based) is ``rand(0, 1) * min(scale * 2 ** (i - 1), 20)``,
    ``scale`` 1 s for throttling (25 ms otherwise for DynamoDB): the bound is the throttling one.
    """
    return sum(min(2.0 ** (i - 1), 20.0) for i in range(1, attempts))


def dynamodb_call_bound(settings: QueryResultSettings) -> float:
    """The longest one DynamoDB ``Query`` can take, its retries and pauses included."""
    per_attempt = settings.dynamodb_connect_timeout_seconds + settings.dynamodb_read_timeout_seconds
    attempts = settings.dynamodb_max_attempts
    return attempts * per_attempt + botocore_backoff_bound(attempts)


@pytest.fixture(scope="module")
def service() -> ServiceSettings:
    return ServiceSettings()


@pytest.fixture(scope="module")
def query_result() -> QueryResultSettings:
    return QueryResultSettings.from_environ({})


@pytest.fixture(scope="module")
def query_lambda() -> QueryLambdaSettings:
    return QueryLambdaSettings.from_environ({})


def test_one_dynamodb_call_with_its_retries_fits_inside_one_attempt_of_the_service(
    service, query_result
):
    assert dynamodb_call_bound(query_result) < service.upstream_attempt_timeout_seconds
    assert dynamodb_call_bound(query_result) < QUERY_RESULT_LAMBDA_SECONDS


def test_a_filtered_page_fits_inside_one_attempt_of_the_service(service, query_result):
    page = query_result.filter_time_budget_seconds + dynamodb_call_bound(query_result)
    assert page < service.upstream_attempt_timeout_seconds


def test_the_service_gives_up_before_the_query_lambda_and_api_gateway(service, query_lambda):
    assert service.upstream_connect_timeout_seconds < service.upstream_attempt_timeout_seconds
    assert service.upstream_attempt_timeout_seconds <= service.upstream_deadline_seconds
    assert service.upstream_deadline_seconds < query_lambda.forward_timeout_seconds
    assert query_lambda.forward_connect_timeout_seconds < query_lambda.forward_timeout_seconds
    assert query_lambda.forward_timeout_seconds < QUERY_LAMBDA_SECONDS < API_GATEWAY_SECONDS


def test_one_attempt_of_the_service_ends_before_the_private_api_does(service):
    assert service.upstream_attempt_timeout_seconds < QUERY_RESULT_LAMBDA_SECONDS
    assert QUERY_RESULT_LAMBDA_SECONDS < API_GATEWAY_SECONDS


def test_the_bound_counts_botocores_pauses():
    assert botocore_backoff_bound(1) == 0
    assert botocore_backoff_bound(2) == 1
    assert botocore_backoff_bound(3) == 3
    slow = QueryResultSettings.from_environ(
        {"DYNAMODB_MAX_ATTEMPTS": "3", "DYNAMODB_READ_TIMEOUT_SECONDS": "5"}
    )
    # The defaults before docs/contract.md#timeouts: 3 x (0.5 + 5) + 3 s of pauses.
    assert dynamodb_call_bound(slow) == 19.5


def _table() -> dict[str, str]:
    """The contract's timeout table: hop -> its row."""
    section = CONTRACT_PAGE.read_text().split("{#timeouts}", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| ")][2:]
    return {row.split(" | ")[0].removeprefix("| "): row for row in rows}


def _seconds(text: str) -> float:
    return float(text.removesuffix(" s"))


def test_the_contract_table_gives_the_defaults(service, query_result, query_lambda):
    table = _table()
    budget = {hop: _seconds(row.split(" | ")[1]) for hop, row in table.items()}
    assert budget["public API Gateway → Query Lambda"] == API_GATEWAY_SECONDS
    assert budget["private API Gateway → Query Result Lambda"] == API_GATEWAY_SECONDS
    assert budget["Query Lambda, whole invocation"] == QUERY_LAMBDA_SECONDS
    assert budget["Query Result Lambda, whole invocation"] == QUERY_RESULT_LAMBDA_SECONDS
    forwarded = "Query Lambda → service, the forwarded call"
    assert budget[forwarded] == query_lambda.forward_timeout_seconds
    deadline = "service → private API, every attempt and pause"
    assert budget[deadline] == service.upstream_deadline_seconds
    attempt = "service → private API, one attempt"
    assert budget[attempt] == service.upstream_attempt_timeout_seconds
    call = "Query Result Lambda → DynamoDB, one `Query` with its retries"
    assert budget[call] == dynamodb_call_bound(query_result)
    page = "Query Result Lambda → DynamoDB, a page with `ap_id`"
    assert budget[page] == query_result.filter_time_budget_seconds + budget[call]
    # Each setting named in the table shows its default.
    defaults = {
        "FORWARD_TIMEOUT_SECONDS": query_lambda.forward_timeout_seconds,
        "FORWARD_CONNECT_TIMEOUT_SECONDS": query_lambda.forward_connect_timeout_seconds,
        "UPSTREAM_DEADLINE_SECONDS": service.upstream_deadline_seconds,
        "UPSTREAM_ATTEMPT_TIMEOUT_SECONDS": service.upstream_attempt_timeout_seconds,
        "UPSTREAM_CONNECT_TIMEOUT_SECONDS": service.upstream_connect_timeout_seconds,
        "UPSTREAM_MAX_ATTEMPTS": service.upstream_max_attempts,
        "DYNAMODB_MAX_ATTEMPTS": query_result.dynamodb_max_attempts,
        "DYNAMODB_CONNECT_TIMEOUT_SECONDS": query_result.dynamodb_connect_timeout_seconds,
        "DYNAMODB_READ_TIMEOUT_SECONDS": query_result.dynamodb_read_timeout_seconds,
        "FILTER_MAX_ROUND_TRIPS": query_result.filter_max_round_trips,
        "FILTER_TIME_BUDGET_SECONDS": query_result.filter_time_budget_seconds,
    }
    text = CONTRACT_PAGE.read_text().split("{#timeouts}", 1)[1].split("\n## ", 1)[0]
    shown = {name: float(value) for name, value in re.findall(r"`([A-Z_]+)` \(([\d.]+)\)", text)}
    assert shown == {name: float(value) for name, value in defaults.items()}
