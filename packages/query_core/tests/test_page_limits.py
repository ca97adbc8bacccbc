"""What one page may cost and weigh: the read-unit budget of a filtered page, and the cut
under Lambda's 6 MB response limit (docs/contract.md#fair-share), on each emulator."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from query_core import QueryRequest, ResultItem
from query_core.dynamodb import DEFAULT_MAX_PAGE_BYTES, ResultsRepository
from query_core.events import proxy_response
from query_devstack import dynamodb_client, put_items, ulid

LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024


@pytest.fixture
def client(dynamodb_endpoint: str) -> Any:
    return dynamodb_client(dynamodb_endpoint)


def items(user_id: str, ap_ids: list[str], blob_chars: int = 0) -> list[dict[str, Any]]:
    """One item per ap_id, oldest first; ``blob_chars`` control characters in ``data``
    (7 bytes each once escaped twice, as Lambda's runtime sends a page)."""
    rng, start = random.Random(user_id), datetime(2026, 4, 1, tzinfo=UTC)
    made = []
    for n, ap_id in enumerate(ap_ids):
        created = start + timedelta(minutes=n)
        data: dict[str, Any] = {"n": {"N": str(n)}}
        if blob_chars:
            data["blob"] = {"S": "\x01" * blob_chars}
        made.append(
            {
                "user_id": {"S": user_id},
                "result_id": {"S": ulid(created, rng)},
                "ap_id": {"S": ap_id},
                "status": {"S": "done"},
                "created_at": {"S": created.isoformat().replace("+00:00", "Z")},
                "data": {"M": data},
            }
        )
    return made


def all_pages(repo: ResultsRepository, **request: Any) -> tuple[list[ResultItem], list[int]]:
    got: list[ResultItem] = []
    sizes: list[int] = []
    token = None
    for _ in range(100):
        page = repo.query(QueryRequest(**request, next_token=token))
        got.extend(page.items)
        sizes.append(page.count)
        token = page.next_token
        if token is None:
            return got, sizes
    raise AssertionError("paging did not end")


class UnitsSeen:
    """The read units DynamoDB reports for each Query, as the repository receives them."""

    def __init__(self, client: Any) -> None:
        self.units: list[float] = []
        client.meta.events.register("after-call.dynamodb.Query", self._seen)

    def _seen(self, parsed: dict[str, Any], **_: Any) -> None:
        self.units.append(float(parsed["ConsumedCapacity"]["CapacityUnits"]))


def test_a_filtered_page_stops_at_its_read_unit_budget_and_resumes(client, table_name):
    """The noisy caller's ap_id that matches nothing costs a bounded number of read units."""
    put_items(client, items("u-units", ["ap-common"] * 117 + ["ap-rare"] * 3), table_name)
    repo = ResultsRepository(
        client, table_name, filter_read_size=10, max_round_trips=10, max_read_units=2.5
    )
    seen = UnitsSeen(client)
    page = repo.query(QueryRequest(user_id="u-units", ap_id="ap-none", limit=5))
    # Every call but the last was under the budget, the last reached it: the cap of 10
    # round trips (or the partition's end) was never what stopped the page.
    assert sum(seen.units[:-1]) < 2.5 <= sum(seen.units)
    assert len(seen.units) < 10
    assert page.items == []
    assert page.next_token is not None
    assert all_pages(repo, user_id="u-units", ap_id="ap-none", limit=5)[0] == []


def test_a_page_is_cut_before_its_answer_passes_the_byte_cap_and_resumes(client, table_name):
    stored = items("u-bytes", ["ap-big"] * 6, blob_chars=20_000)
    put_items(client, stored, table_name)
    repo = ResultsRepository(client, table_name, max_page_bytes=300_000)
    first = repo.query(QueryRequest(user_id="u-bytes", limit=25))
    assert first.count == 2  # 140 KB each once escaped twice: a third would pass 300 KB
    assert first.next_token is not None
    got, sizes = all_pages(repo, user_id="u-bytes", limit=25)
    newest_first = sorted((i["result_id"]["S"] for i in stored), reverse=True)
    assert [item.result_id for item in got] == newest_first
    assert sizes == [2, 2, 2]


def test_the_default_cap_keeps_a_page_under_lambdas_6_mb_response_limit(client, table_name):
    """Twelve items of 300,000 control characters: 25 MB as Lambda would send them, uncut."""
    for item in items("u-huge", ["ap-big"] * 12, blob_chars=300_000):
        # one by one: 25 of them are over an HTTP request DynamoDB Local takes
        client.put_item(TableName=table_name, Item=item)
    repo = ResultsRepository(client, table_name)
    page = repo.query(QueryRequest(user_id="u-huge", ap_id="ap-big", limit=25))
    envelope = json.dumps(proxy_response(200, page)).encode()
    assert page.count == 2  # 2.1 MB each as sent: a third would pass the cap
    assert page.next_token is not None
    assert len(envelope) < LAMBDA_RESPONSE_LIMIT
    one_item = len(json.dumps(page.items[0].model_dump_json()))
    assert len(envelope) + one_item > LAMBDA_RESPONSE_LIMIT  # uncut, Lambda would refuse it
    assert len(envelope) + one_item > DEFAULT_MAX_PAGE_BYTES
