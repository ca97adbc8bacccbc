"""ResultsRepository against each DynamoDB emulator (moto, DynamoDB Local), over HTTP with boto3."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import query_core.dynamodb
from botocore.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from query_core import (
    InvalidNextTokenError,
    QueryRequest,
    RepositoryError,
    RepositoryThrottledError,
    RepositoryUnavailableError,
    ResultItem,
    error_answer,
)
from query_core.dynamodb import ResultsRepository, from_item
from query_devstack import dynamodb_client, put_items, ulid

_rng = random.Random(3)
_start = datetime(2026, 3, 1, tzinfo=UTC)
_users = itertools.count()


def make_items(user_id: str, ap_ids: list[str | None]) -> list[dict[str, Any]]:
    """One item per entry of ap_ids, oldest first; None means an item written before ap_id."""
    items = []
    for n, ap_id in enumerate(ap_ids):
        created = _start + timedelta(minutes=n)
        item: dict[str, Any] = {
            "user_id": {"S": user_id},
            "result_id": {"S": ulid(created, _rng)},
            "status": {"S": "done"},
            "created_at": {"S": created.isoformat().replace("+00:00", "Z")},
            "data": {"M": {"n": {"N": str(n)}}},
            "marketing_id": {"S": "mkt-legacy"},
        }
        if ap_id is not None:
            item["ap_id"] = {"S": ap_id}
        items.append(item)
    return items


def expected(items: list[dict[str, Any]], ap_id: str | None = None) -> list[ResultItem]:
    """What the service must answer: newest first, filtered, without marketing_id."""
    plain = [from_item(item) for item in items]
    for entry in plain:
        entry.pop("marketing_id", None)
    chosen = [
        ResultItem.model_validate(p) for p in plain if ap_id is None or p.get("ap_id") == ap_id
    ]
    return sorted(chosen, key=lambda item: item.result_id, reverse=True)


def all_pages(repo: ResultsRepository, **request: Any) -> tuple[list[ResultItem], list[int]]:
    items: list[ResultItem] = []
    sizes: list[int] = []
    token = None
    for _ in range(1000):
        page = repo.query(QueryRequest(**request, next_token=token))
        assert page.count == len(page.items)
        items.extend(page.items)
        sizes.append(page.count)
        token = page.next_token
        if token is None:
            return items, sizes
    raise AssertionError("paging did not end")


class CallCounter:
    def __init__(self, client: Any) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        client.meta.events.register("provide-client-params.dynamodb.*", self._seen)

    def _seen(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, dict(params)))


@pytest.fixture
def client(dynamodb_endpoint: str) -> Any:
    return dynamodb_client(dynamodb_endpoint)


@pytest.fixture
def repo(client: Any, table_name: str) -> ResultsRepository:
    return ResultsRepository(client, table_name, token_keys=b"test-key")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    data=st.data(),
    n_items=st.integers(min_value=0, max_value=45),
    limit=st.integers(min_value=1, max_value=12),
)
def test_paging_returns_each_item_once_in_order(repo, client, table_name, data, n_items, limit):
    user_id = f"u-prop-{next(_users)}"
    ap_ids = data.draw(
        st.lists(st.sampled_from([None, "ap-a", "ap-b"]), min_size=n_items, max_size=n_items)
    )
    items = make_items(user_id, ap_ids)
    put_items(client, items, table_name)
    put_items(client, make_items(user_id + "-other", ["ap-a"] * 3), table_name)

    got, sizes = all_pages(repo, user_id=user_id, limit=limit)
    assert got == expected(items)
    assert all(size == limit for size in sizes[:-1])
    assert 0 < sizes[-1] <= limit or n_items == 0

    ap_id = data.draw(st.sampled_from(["ap-a", "ap-b"]))
    got_filtered, _ = all_pages(repo, user_id=user_id, ap_id=ap_id, limit=limit)
    assert got_filtered == expected(items, ap_id)


def test_empty_user_gets_an_empty_page(repo):
    page = repo.query(QueryRequest(user_id="nobody"))
    assert (page.items, page.count, page.next_token) == ([], 0, None)


def test_last_page_has_no_token_even_when_exactly_full(repo, client, table_name):
    put_items(client, make_items("u-exact", [None] * 10), table_name)
    page = repo.query(QueryRequest(user_id="u-exact", limit=10))
    assert page.count == 10
    assert page.next_token is None


def test_ap_id_filter_and_items_without_ap_id(repo, client, table_name):
    items = make_items("u-mixed", ["ap-a", None, "ap-b", "ap-a", None])
    put_items(client, items, table_name)
    only_a = repo.query(QueryRequest(user_id="u-mixed", ap_id="ap-a"))
    assert [item.ap_id for item in only_a.items] == ["ap-a", "ap-a"]
    everything = repo.query(QueryRequest(user_id="u-mixed"))
    assert [item.ap_id for item in everything.items] == [None, "ap-a", "ap-b", None, "ap-a"]
    assert repo.query(QueryRequest(user_id="u-mixed", ap_id="ap-none")).items == []


def test_marketing_id_is_never_read(repo, client, table_name):
    put_items(client, make_items("u-mkt", ["ap-a"]), table_name)
    counter = CallCounter(client)
    page = repo.query(QueryRequest(user_id="u-mkt"))
    assert "marketing_id" not in page.items[0].model_dump()
    ((name, params),) = counter.calls
    assert name == "Query"
    assert "marketing_id" not in str(params)
    assert "IndexName" not in params


def test_one_round_trip_per_page_without_ap_id(repo, client, table_name):
    put_items(client, make_items("u-rt", [None] * 30), table_name)
    counter = CallCounter(client)
    token = None
    for _ in range(3):
        page = repo.query(QueryRequest(user_id="u-rt", limit=10, next_token=token))
        token = page.next_token
    assert [name for name, _ in counter.calls] == ["Query"] * 3


def test_filter_reads_until_the_page_is_full(client, table_name):
    # 12 matching items hidden among 120 others: small reads need several round trips.
    ap_ids: list[str | None] = [("ap-rare" if n % 10 == 0 else "ap-common") for n in range(120)]
    put_items(client, make_items("u-sparse", ap_ids), table_name)
    repo = ResultsRepository(client, table_name, filter_read_size=20, max_round_trips=10)
    counter = CallCounter(client)
    page = repo.query(QueryRequest(user_id="u-sparse", ap_id="ap-rare", limit=5))
    assert page.count == 5
    assert page.next_token is not None
    assert 2 <= len(counter.calls) <= 10
    assert all(name == "Query" and params["Limit"] == 20 for name, params in counter.calls)


def test_round_trip_cap_returns_a_partial_page_that_resumes(client, table_name):
    ap_ids: list[str | None] = [("ap-rare" if n in (0, 1, 2) else "ap-common") for n in range(60)]
    put_items(client, make_items("u-cap", ap_ids), table_name)
    repo = ResultsRepository(client, table_name, filter_read_size=10, max_round_trips=2)
    counter = CallCounter(client)
    first = repo.query(QueryRequest(user_id="u-cap", ap_id="ap-rare", limit=5))
    assert len(counter.calls) == 2  # the cap
    assert first.items == []  # the newest 20 items hold no match
    assert first.next_token is not None
    got, _ = all_pages(repo, user_id="u-cap", ap_id="ap-rare", limit=5)
    assert [item.data["n"] for item in got] == [2, 1, 0]


class SlowClock:
    """The repository's clock, moved on by 1 s at each DynamoDB Query (no real waiting)."""

    def __init__(self, client: Any) -> None:
        self.now = 0.0
        client.meta.events.register("after-call.dynamodb.Query", self._tick)

    def _tick(self, **_: Any) -> None:
        self.now += 1.0

    def monotonic(self) -> float:
        return self.now


def test_time_budget_ends_a_slow_filtered_page_early_and_it_resumes(
    client, table_name, monkeypatch
):
    ap_ids: list[str | None] = [("ap-rare" if n in (0, 1, 2) else "ap-common") for n in range(60)]
    put_items(client, make_items("u-slow", ap_ids), table_name)
    repo = ResultsRepository(
        client, table_name, filter_read_size=10, max_round_trips=10, filter_time_budget=1.5
    )
    # Each Query takes 1 s: after the first the budget lets a second start, never a third.
    monkeypatch.setattr(query_core.dynamodb, "time", SlowClock(client))
    counter = CallCounter(client)
    first = repo.query(QueryRequest(user_id="u-slow", ap_id="ap-rare", limit=5))
    assert len(counter.calls) == 2  # the budget, well before the cap of 10
    assert first.items == []  # the newest 20 items hold no match
    assert first.next_token is not None
    got, _ = all_pages(repo, user_id="u-slow", ap_id="ap-rare", limit=5)
    assert [item.data["n"] for item in got] == [2, 1, 0]


def test_the_time_budget_never_cuts_a_page_without_ap_id(client, table_name, monkeypatch):
    put_items(client, make_items("u-plain", [None] * 30), table_name)
    repo = ResultsRepository(client, table_name, filter_time_budget=0.5)
    monkeypatch.setattr(query_core.dynamodb, "time", SlowClock(client))
    page = repo.query(QueryRequest(user_id="u-plain", limit=25))
    assert page.count == 25


def test_foreign_or_forged_token_is_rejected(repo, client, table_name):
    put_items(client, make_items("u-t1", ["ap-a"] * 5), table_name)
    page = repo.query(QueryRequest(user_id="u-t1", limit=2))
    assert page.next_token
    for request in (
        QueryRequest(user_id="u-t2", limit=2, next_token=page.next_token),
        QueryRequest(user_id="u-t1", ap_id="ap-a", limit=2, next_token=page.next_token),
        QueryRequest(user_id="u-t1", limit=2, next_token=page.next_token[:-3]),
        QueryRequest(user_id="u-t1", limit=2, next_token="bm90LWEtdG9rZW4.AAAA"),
    ):
        with pytest.raises(InvalidNextTokenError):
            repo.query(request)
    other_key = ResultsRepository(client, table_name, token_keys=b"another-key")
    with pytest.raises(InvalidNextTokenError):
        other_key.query(QueryRequest(user_id="u-t1", limit=2, next_token=page.next_token))


def test_data_types_survive_the_round_trip(repo, client, table_name):
    item = make_items("u-types", ["ap-a"])[0]
    item["data"] = {
        "M": {
            "nested": {"M": {"deep": {"M": {"x": {"N": "1.25"}}}}},
            "big": {"N": "123456789012345678901234567890"},
            "ss": {"SS": ["b", "a"]},
            "ns": {"NS": ["3", "1", "2.5"]},
            "bs": {"BS": [b"\x02", b"\x01"]},
            "bin": {"B": b"\x00\x01"},
            "list": {"L": [{"BOOL": True}, {"NULL": True}, {"S": "s"}]},
        }
    }
    put_items(client, [item], table_name)
    (got,) = repo.query(QueryRequest(user_id="u-types")).items
    assert got.data == {
        "nested": {"deep": {"x": 1.25}},
        "big": 123456789012345678901234567890,
        "ss": ["a", "b"],
        "ns": [1, 2.5, 3],
        "bs": ["AQ==", "Ag=="],
        "bin": "AAE=",
        "list": [True, None, "s"],
    }


def test_missing_table_is_a_repository_error(client):
    repo = ResultsRepository(client, "no-such-table")
    with pytest.raises(RepositoryError, match="ResourceNotFoundException"):
        repo.query(QueryRequest(user_id="u"))


def test_unreachable_dynamodb_is_unavailable_503_not_an_internal_error():
    client = boto3.client(
        "dynamodb",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(connect_timeout=0.2, retries={"total_max_attempts": 1}),
    )
    with pytest.raises(RepositoryUnavailableError, match="could not be reached") as caught:
        ResultsRepository(client, "t").query(QueryRequest(user_id="u"))
    # The hop in front retries a 503 and counts it against availability; a 500 it would not.
    status, headers, body = error_answer(caught.value)
    assert (status, body) == (503, {"detail": "the results store is unavailable; retry later"})
    assert headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("InternalServerError", 500, RepositoryUnavailableError),
        ("ServiceUnavailable", 503, RepositoryUnavailableError),
        ("ResourceNotFoundException", 400, RepositoryError),
        ("ProvisionedThroughputExceededException", 400, RepositoryThrottledError),
        ("ThrottlingException", 400, RepositoryThrottledError),
        ("RequestLimitExceeded", 400, RepositoryThrottledError),
    ],
)
def test_dynamodb_failing_on_its_side_is_unavailable_a_missing_table_is_not(
    code: str, status: int, expected: type[Exception]
):
    from botocore.stub import Stubber

    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        stub.add_client_error("query", service_error_code=code, http_status_code=status)
        with pytest.raises(RepositoryError) as caught:
            ResultsRepository(client, "t").query(QueryRequest(user_id="u"))
    assert type(caught.value) is expected
    if expected is RepositoryThrottledError:  # one hot partition: 429, not the store down
        status, headers, _ = error_answer(caught.value)
        assert (status, headers) == (429, {"Retry-After": "1"})


def test_bad_settings_are_refused(client):
    with pytest.raises(ValueError, match="at least 1"):
        ResultsRepository(client, "t", max_round_trips=0)
    with pytest.raises(ValueError, match="must be positive"):
        ResultsRepository(client, "t", filter_time_budget=0)
    with pytest.raises(ValueError, match="must be positive"):
        ResultsRepository(client, "t", max_read_units=0)


def test_a_signed_position_over_the_key_limit_is_400_before_any_read(client, table_name):
    """A token signed with a leaked (or the public local) key cannot make DynamoDB fail."""
    from query_core import DEFAULT_TOKEN_KEYS, PageTokenCodec

    repo = ResultsRepository(client, table_name)  # the public local key
    forged = PageTokenCodec(DEFAULT_TOKEN_KEYS).encode(
        user_id="u-f", ap_id=None, result_id="0" * 2000
    )
    counter = CallCounter(client)
    with pytest.raises(InvalidNextTokenError, match="malformed"):
        repo.query(QueryRequest(user_id="u-f", next_token=forged))
    assert counter.calls == []


@pytest.mark.parametrize(
    "broken",
    [{"data": {"S": "not a map"}}, {"status": None}, {"created_at": {"N": "1"}}],
)
def test_a_stored_item_that_does_not_fit_is_a_repository_error(repo, client, table_name, broken):
    """The table's fault: a RepositoryError (500 internal error), not a pydantic error."""
    (item,) = make_items("u-broken", [None])
    for name, value in broken.items():
        if value is None:
            del item[name]
        else:
            item[name] = value
    put_items(client, [item], table_name)
    with pytest.raises(RepositoryError, match=f"stored item {item['result_id']['S']} does not fit"):
        repo.query(QueryRequest(user_id="u-broken"))


def test_dynamodb_validation_errors_are_the_callers_400(repo, client):
    """DynamoDB's ValidationException is a client mistake (InvalidQueryError), not a 500."""
    from query_core import InvalidQueryError, error_answer

    bypassing_the_model = QueryRequest.model_construct(
        user_id="", ap_id=None, limit=5, next_token=None
    )
    with pytest.raises(InvalidQueryError) as info:
        repo.query(bypassing_the_model)
    assert error_answer(info.value)[0] == 400
