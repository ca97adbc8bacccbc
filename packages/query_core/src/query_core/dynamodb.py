"""``ResultsRepository``: one page of a user's results from DynamoDB (docs/contract.md#data-model).

Needs the ``dynamodb`` extra (``pip install "query-core[dynamodb]"``); the rest of
``query_core`` does not import boto3.

Reads are a ``Query`` on the table's key, newest first (descending ``result_id``),
never a ``Scan`` and never an index. A page asks DynamoDB for ``limit + 1`` items,
so that ``next_token`` is null exactly on the last page.

* Without ``ap_id``: exactly one round trip per page.
* With ``ap_id``: a ``FilterExpression`` on ``ap_id`` and further round trips of
  ``filter_read_size`` items each until the page is full, the partition ends,
  ``max_round_trips`` is reached, or the page has consumed ``max_read_units`` read
  units (DynamoDB's own ``ConsumedCapacity``: it bills the items examined, before the
  filter, so large items cost more than their count). At a cap the page may hold fewer
  than ``limit`` items (even none) together with a ``next_token`` that resumes where the
  reading stopped; a client pages on until ``next_token`` is null. With the defaults one
  page examines at most 500 items (or ``5 × (limit+1)`` when that is larger) and starts
  no further round trip once it has consumed 16 read units (about 128 KB read).

A page is also cut before its JSON, as Lambda's runtime sends it, passes
``max_page_bytes`` (5 MiB of items, under Lambda's 6 MB response limit): the page ends at
the last item that fits, with a ``next_token`` after it (docs/contract.md#fair-share).

Only the attributes of ``ResultItem`` are read (a ``ProjectionExpression``): the
legacy ``marketing_id`` never leaves the table.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from query_core._dynamodb_json import from_attribute_value, from_item
from query_core._exceptions import (
    InvalidQueryError,
    RepositoryError,
    RepositoryThrottledError,
    RepositoryUnavailableError,
)
from query_core._models import QueryRequest, QueryResponse, ResultItem
from query_core._tokens import DEFAULT_TOKEN_KEYS, PageTokenCodec, TokenKeys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef

    from query_core._token_refresh import RefreshingTokenKeys

__all__ = [
    "DEFAULT_FILTER_READ_SIZE",
    "DEFAULT_MAX_PAGE_BYTES",
    "DEFAULT_MAX_READ_UNITS",
    "DEFAULT_MAX_ROUND_TRIPS",
    "ResultsRepository",
    "from_attribute_value",
    "from_item",
]

DEFAULT_MAX_ROUND_TRIPS: Final = 5
DEFAULT_FILTER_READ_SIZE: Final = 100
#: Read units a filtered page may consume before it starts no further round trip.
DEFAULT_MAX_READ_UNITS: Final = 16.0
#: The items of one page, as JSON inside Lambda's response envelope, stay under this;
#: the rest of the 6 MB (the page's other fields, headers, envelope) has over 900 KB.
DEFAULT_MAX_PAGE_BYTES: Final = 5 * 1024 * 1024

_log = logging.getLogger("query_core.dynamodb")
_THROTTLING_CODES: Final = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
_NAMES: Final = {
    "#user_id": "user_id",
    "#result_id": "result_id",
    "#ap_id": "ap_id",
    "#status": "status",
    "#created_at": "created_at",
    "#data": "data",
}
_PROJECTION: Final = ", ".join(_NAMES)


def _to_result_item(item: Mapping[str, Mapping[str, Any]]) -> ResultItem:
    """One stored item as a ``ResultItem``; an item that does not fit is a ``RepositoryError``.

    The table is written by other producers: a stored item without ``status``, or with a
    ``data`` that is not a map, is the table's fault, answered 500 like any failed read,
    never a pydantic error escaping this package.
    """
    try:
        return ResultItem.model_validate(from_item(item))
    except ValueError as exc:  # pydantic's ValidationError, or an unknown attribute type
        key = item.get("result_id", {}).get("S", "?")
        raise RepositoryError(f"stored item {key} does not fit ResultItem") from exc


def _envelope_size(item: ResultItem) -> int:
    """The bytes ``item`` takes in Lambda's response: its JSON, escaped again as part of
    the envelope's ``body`` string (ASCII-escaped, as the runtime's encoder writes it)."""
    return len(json.dumps(item.model_dump_json())) + 1  # and the comma after it


def _read_units(response: Mapping[str, Any]) -> float:
    """The read units DynamoDB says a ``Query`` consumed (0 when it does not say)."""
    units = response.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0)
    return float(units) if isinstance(units, int | float) else 0.0


class ResultsRepository:
    """Pages through the results table; one instance per process, thread-safe."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        token_keys: TokenKeys | bytes | RefreshingTokenKeys = DEFAULT_TOKEN_KEYS,
        max_round_trips: int = DEFAULT_MAX_ROUND_TRIPS,
        filter_read_size: int = DEFAULT_FILTER_READ_SIZE,
        filter_time_budget: float | None = None,
        max_read_units: float = DEFAULT_MAX_READ_UNITS,
        max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES,
    ) -> None:
        """``filter_time_budget``: seconds after which a filtered page starts no further
        round trip (it ends early with a ``next_token``, as at the round-trip cap);
        ``None``: only the cap ends it."""
        if max_round_trips < 1 or filter_read_size < 1:
            raise ValueError("max_round_trips and filter_read_size must be at least 1")
        if filter_time_budget is not None and filter_time_budget <= 0:
            raise ValueError("filter_time_budget must be positive")
        if max_read_units <= 0 or max_page_bytes <= 0:
            raise ValueError("max_read_units and max_page_bytes must be positive")
        self._max_read_units = max_read_units
        self._max_page_bytes = max_page_bytes
        self._client = client
        self._table_name = table_name
        self._tokens = PageTokenCodec(token_keys)
        self._max_round_trips = max_round_trips
        self._filter_read_size = filter_read_size
        self._filter_time_budget = filter_time_budget

    def query(self, request: QueryRequest) -> QueryResponse:
        """One page of ``request.user_id``'s results, newest first.

        Raises ``InvalidNextTokenError`` for a token of another query,
        ``RepositoryThrottledError`` when DynamoDB throttles and ``RepositoryError``
        for any other failure of the read.
        """
        start_after: str | None = None
        if request.next_token is not None:
            start_after = self._tokens.decode(
                request.next_token, user_id=request.user_id, ap_id=request.ap_id
            )
        wanted = request.limit + 1  # one more than the page: tells whether a next page exists
        values: dict[str, Any] = {":user_id": {"S": request.user_id}}
        params: QueryInputTypeDef = {
            "TableName": self._table_name,
            "KeyConditionExpression": "#user_id = :user_id",
            "ExpressionAttributeNames": dict(_NAMES),
            "ExpressionAttributeValues": values,
            "ProjectionExpression": _PROJECTION,
            "ScanIndexForward": False,
            "Limit": wanted,
        }
        if request.ap_id is not None:
            params["FilterExpression"] = "#ap_id = :ap_id"
            values[":ap_id"] = {"S": request.ap_id}
            params["Limit"] = max(wanted, self._filter_read_size)
            params["ReturnConsumedCapacity"] = "TOTAL"  # the read-unit budget counts it
        if start_after is not None:
            params["ExclusiveStartKey"] = {
                "user_id": {"S": request.user_id},
                "result_id": {"S": start_after},
            }

        raw_items: list[Mapping[str, Any]] = []
        last_key: Mapping[str, Any] | None = None
        budget = self._filter_time_budget
        stop_at = None if budget is None else time.monotonic() + budget
        read_units = 0.0
        for _ in range(self._max_round_trips if request.ap_id is not None else 1):
            response = self._call_query(params)
            read_units += _read_units(response)
            raw_items.extend(response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if len(raw_items) >= wanted or last_key is None or read_units >= self._max_read_units:
                break
            if stop_at is not None and time.monotonic() >= stop_at:
                break  # out of time: a partial page that resumes (docs/contract.md#timeouts)
            params["ExclusiveStartKey"] = last_key

        items = [_to_result_item(raw) for raw in raw_items[: request.limit]]
        fitting = self._fitting(items)
        next_token: str | None = None
        if fitting < len(items):  # over Lambda's response limit: the rest on the next page
            items = items[:fitting]
            next_token = self._token_after(request, items[-1].result_id)
        elif len(raw_items) > request.limit:
            next_token = self._token_after(request, items[-1].result_id)
        elif last_key is not None:
            # The read stopped early (round-trip cap, time budget or DynamoDB's 1 MB page): resume
            # after the last key DynamoDB examined, which may be past the last item.
            resume_after = from_attribute_value(last_key["result_id"])
            next_token = self._token_after(request, str(resume_after))
        return QueryResponse(
            user_id=request.user_id, items=items, count=len(items), next_token=next_token
        )

    def _fitting(self, items: list[ResultItem]) -> int:
        """How many of ``items`` fit in ``max_page_bytes`` (always at least one)."""
        size = 0
        for count, item in enumerate(items):
            size += _envelope_size(item)
            if size > self._max_page_bytes:
                return max(count, 1)
        return len(items)

    def _token_after(self, request: QueryRequest, result_id: str) -> str:
        return self._tokens.encode(
            user_id=request.user_id, ap_id=request.ap_id, result_id=result_id
        )

    def _call_query(self, params: QueryInputTypeDef) -> Mapping[str, Any]:
        """The one boundary where botocore's exceptions become ours."""
        try:
            return self._client.query(**params)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _THROTTLING_CODES:
                raise RepositoryThrottledError from exc
            if code == "ValidationException":  # the request's own values broke a key rule
                # A 400 for the caller, but logged: a bug of ours would show here, not as 5xx.
                message = exc.response.get("Error", {}).get("Message", "")
                _log.warning("DynamoDB refused the query as invalid: %s", message)
                raise InvalidQueryError from exc
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status >= 500:  # DynamoDB's own failure (InternalServerError...): unavailable
                raise RepositoryUnavailableError(f"DynamoDB Query failed: {code}") from exc
            raise RepositoryError(f"DynamoDB Query failed: {code or 'unknown error'}") from exc
        except BotoCoreError as exc:  # connect errors, timeouts: the store is unavailable
            raise RepositoryUnavailableError("DynamoDB could not be reached") from exc
