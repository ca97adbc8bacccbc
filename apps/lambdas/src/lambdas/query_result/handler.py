"""The Query Result Lambda's entry point: ``lambdas.query_result.handler.handler``.

It answers the same output for the same input on every way it is called
(docs/contract.md#internal-api): a REST proxy event from the private API Gateway, an
HTTP API (v2) event, or a direct invocation whose event is the bare request (the legacy
``invoke_lambda`` rollback path). Glue only: the request rules, the error answers and
the request id are ``query_core``'s.

Cold start: this module imports no web framework. The ``next_token`` keys are read at
init (from Secrets Manager when ``NEXT_TOKEN_SECRET_ARN`` is set), so that a missing or
unreadable key stops the function with one line, and again as they age or when a token
names a key id they lack; the DynamoDB client is created once per
container, on the first invocation.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from query_core import configure_json_logging
from query_core.events import (
    LambdaContext,
    LambdaHandler,
    LambdaRequest,
    proxy_response,
    read_query_request,
)

from lambdas._startup import starting
from lambdas.query_result._keys import get_token_keys
from lambdas.query_result._settings import QueryResultSettings, get_settings

if TYPE_CHECKING:
    from query_core.dynamodb import ResultsRepository

__all__ = ["get_repository", "handler"]

_repository: ResultsRepository | None = None


def get_repository() -> ResultsRepository:
    """The container's repository and its boto3 client, created on first use."""
    global _repository  # noqa: PLW0603 - one client per Lambda container, by design
    if _repository is None:
        _repository = _create_repository(get_settings())
    return _repository


def _create_repository(settings: QueryResultSettings) -> ResultsRepository:
    from query_core.aws import create_client
    from query_core.dynamodb import ResultsRepository

    client = create_client(
        "dynamodb",
        region=settings.aws_region,
        endpoint_url=settings.endpoint_url,
        connect_timeout=settings.dynamodb_connect_timeout_seconds,
        read_timeout=settings.dynamodb_read_timeout_seconds,
        max_attempts=settings.dynamodb_max_attempts,
    )
    return ResultsRepository(
        client,
        settings.results_table_name,
        token_keys=get_token_keys(),
        max_round_trips=settings.filter_max_round_trips,
        filter_time_budget=settings.filter_time_budget_seconds,
        max_read_units=settings.filter_max_read_units,
    )


def _dispatch(request: LambdaRequest, _request_id: str, _context: LambdaContext) -> dict[str, Any]:
    return proxy_response(200, get_repository().query(read_query_request(request)))


_log = logging.getLogger("lambdas.query_result")
#: Only the event shapes the deployment uses (EVENT_SOURCES), read on each call.
handler = LambdaHandler(_dispatch, logger=_log, sources=lambda: get_settings().sources)


with starting(_log):  # at init: a wrong setting or an unreadable key is one line, exit 1
    configure_json_logging(get_settings().log_level)
    get_token_keys()
