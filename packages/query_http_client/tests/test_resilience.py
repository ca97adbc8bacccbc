"""Deadline, retries, budget and breaker, against the real misbehaving server."""

from __future__ import annotations

import asyncio
import json
import time
from itertools import count

import pytest
from query_core import QueryRequest, TooManyRequestsError, error_answer
from query_devstack import MisbehavingServer, Reply
from query_http_client import (
    AiohttpTransport,
    AsyncQueryClient,
    CircuitBreaker,
    CircuitOpenError,
    QueryClient,
    Resilience,
    RetryBudget,
    RetryPolicy,
    UpstreamBadResponseError,
    UpstreamRejectedError,
    UpstreamThrottledError,
    UpstreamTimeoutError,
    UpstreamTooManyRequestsError,
    UpstreamUnavailableError,
    Urllib3Transport,
)

PAGE = json.dumps({"user_id": "u", "items": [], "count": 0, "next_token": None}).encode()
REQUEST = QueryRequest(user_id="u")
FAST = RetryPolicy(deadline=2.0, attempt_timeout=0.5, max_attempts=3, backoff_base=0.01)


def sequence(*replies: Reply):
    """Answer with each reply in turn, then the last one forever."""
    numbers = count()

    def choose(_request):
        return replies[min(next(numbers), len(replies) - 1)]

    return choose


def run_async(url: str, resilience: Resilience):
    async def go():
        async with AsyncQueryClient(AiohttpTransport(url), resilience=resilience) as client:
            return await client.query(REQUEST)

    return asyncio.run(go())


def run_sync(url: str, resilience: Resilience):
    with QueryClient(Urllib3Transport(url), resilience=resilience) as client:
        return client.query(REQUEST)


RUNNERS = pytest.mark.parametrize("run", [run_sync, run_async], ids=["sync", "async"])


@RUNNERS
@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_answers_are_retried_until_success(run, status):
    replies = sequence(Reply(status=status, body=b'{"message": "x"}'), Reply(body=PAGE))
    with MisbehavingServer(replies) as server:
        page = run(server.url, Resilience(FAST))
    assert page.count == 0
    assert len(server.requests) == 2


@RUNNERS
@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(status=400, body=b'{"detail": "bad token"}'), UpstreamRejectedError),
        (Reply(status=422, body=b'{"detail": []}'), UpstreamRejectedError),
        (Reply(status=500, body=b'{"detail": "internal error"}'), UpstreamBadResponseError),
        (Reply(body=b"not json"), UpstreamBadResponseError),
    ],
)
def test_other_answers_are_never_retried(run, reply, error):
    with MisbehavingServer(reply) as server, pytest.raises(error):
        run(server.url, Resilience(FAST))
    assert len(server.requests) == 1


@RUNNERS
def test_attempts_are_capped(run):
    with MisbehavingServer(Reply(status=503, body=b"{}")) as server:
        with pytest.raises(UpstreamUnavailableError) as caught:
            run(server.url, Resilience(FAST))
    assert len(server.requests) == 3
    assert caught.value.attempts == 3


@RUNNERS
def test_connection_refused_is_retried_then_unavailable(run):
    with MisbehavingServer() as server:
        url = server.url
    with pytest.raises(UpstreamUnavailableError) as caught:
        run(url, Resilience(FAST))
    assert caught.value.attempts == 3


@RUNNERS
def test_a_hung_attempt_is_cut_and_retried(run):
    # The first answer would come after 3 s and is not a page: getting the page means
    # the first attempt was cut at its timeout and the second one answered.
    replies = sequence(Reply(delay=3), Reply(body=PAGE))
    with MisbehavingServer(replies) as server:
        assert run(server.url, Resilience(FAST)).count == 0
    assert len(server.requests) == 2


@RUNNERS
def test_the_deadline_ends_the_call_against_a_hung_upstream(run):
    policy = RetryPolicy(deadline=1.0, attempt_timeout=0.4, max_attempts=10, backoff_base=0.01)
    with MisbehavingServer(Reply(delay=3)) as server:
        with pytest.raises(UpstreamTimeoutError) as caught:
            run(server.url, Resilience(policy))
    assert 1 <= caught.value.attempts <= 3  # 0.4 + 0.4 + 0.2 s at the most
    assert len(server.requests) == caught.value.attempts


class HandTurnedClock:
    """A monotonic clock that moves only when a test turns it."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def hung_attempts(clock: HandTurnedClock, timeouts: list[float]):
    """An attempt that hangs for its whole timeout, then fails as a timeout."""

    def attempt(timeout: float):
        timeouts.append(timeout)
        clock.now += timeout
        raise UpstreamTimeoutError("hung")

    return attempt


def test_the_deadline_covers_every_attempt_and_pause():
    clock, timeouts = HandTurnedClock(), []
    policy = RetryPolicy(deadline=1.0, attempt_timeout=0.4, max_attempts=10, backoff_base=0.0)
    with pytest.raises(UpstreamTimeoutError) as caught:
        Resilience(policy, clock=clock).run_sync(hung_attempts(clock, timeouts))
    assert timeouts == pytest.approx([0.4, 0.4, 0.2])  # the last one gets what is left
    assert caught.value.attempts == 3


def test_the_deadline_covers_every_attempt_and_pause_async():
    clock, timeouts = HandTurnedClock(), []
    policy = RetryPolicy(deadline=1.0, attempt_timeout=0.4, max_attempts=10, backoff_base=0.0)
    hung = hung_attempts(clock, timeouts)

    async def attempt(timeout: float):
        return hung(timeout)

    with pytest.raises(UpstreamTimeoutError) as caught:
        asyncio.run(Resilience(policy, clock=clock).run_async(attempt))
    assert timeouts == pytest.approx([0.4, 0.4, 0.2])
    assert caught.value.attempts == 3


def test_no_attempt_starts_past_the_deadline():
    clock, timeouts = HandTurnedClock(), []
    policy = RetryPolicy(deadline=1.0, attempt_timeout=0.4, max_attempts=3, backoff_base=0.0)

    def attempt(timeout: float):
        timeouts.append(timeout)
        clock.now += 5.0  # e.g. the thread was starved: the deadline passed meanwhile
        raise UpstreamUnavailableError("refused")

    with pytest.raises(UpstreamUnavailableError) as caught:
        Resilience(policy, clock=clock).run_sync(attempt)
    assert timeouts == [0.4]
    assert caught.value.attempts == 1


@RUNNERS
def test_retry_after_is_honoured_within_the_deadline(run):
    throttled = Reply(status=429, body=b"{}", headers={"Retry-After": "0.4"})
    with MisbehavingServer(sequence(throttled, Reply(body=PAGE))) as server:
        started = time.monotonic()
        run(server.url, Resilience(FAST))
    assert time.monotonic() - started >= 0.4  # a lower bound: a loaded machine only adds
    assert len(server.requests) == 2


@RUNNERS
def test_retry_after_beyond_the_deadline_is_not_waited_for(run):
    # Had the client waited 30 s, the 2 s deadline would have turned this into a timeout.
    throttled = Reply(status=429, body=b"{}", headers={"Retry-After": "30"})
    with MisbehavingServer(throttled) as server:
        with pytest.raises(UpstreamThrottledError) as caught:
            run(server.url, Resilience(FAST))
    assert caught.value.retry_after == 30
    assert caught.value.attempts == 1
    assert len(server.requests) == 1


def test_budget_stops_retries_when_spent_and_refills_on_success():
    budget = RetryBudget(capacity=10, retry_cost=5)
    resilience = Resilience(FAST, budget=budget)
    with MisbehavingServer(Reply(status=503, body=b"{}")) as server:
        with pytest.raises(UpstreamUnavailableError):
            run_sync(server.url, resilience)
        assert len(server.requests) == 3  # two retries: 10 tokens
        assert budget.tokens == 0
        with pytest.raises(UpstreamUnavailableError) as caught:
            run_sync(server.url, resilience)
        assert caught.value.attempts == 1  # budget spent: no retry
        server.reply = Reply(body=PAGE)
        run_sync(server.url, resilience)
    assert budget.tokens == 1


def test_budget_returns_the_cost_of_a_retry_that_succeeded():
    budget = RetryBudget(capacity=500)
    with MisbehavingServer(sequence(Reply(status=503, body=b"{}"), Reply(body=PAGE))) as server:
        run_sync(server.url, Resilience(FAST, budget=budget))
    assert budget.tokens == 500


def test_breaker_opens_fails_fast_then_probes_and_closes():
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=5, clock=lambda: now[0])
    policy = RetryPolicy(deadline=2, attempt_timeout=0.5, max_attempts=1)
    resilience = Resilience(policy, breaker=breaker)
    with MisbehavingServer(Reply(status=502, body=b"{}")) as server:
        for _ in range(2):
            with pytest.raises(UpstreamBadResponseError):
                run_sync(server.url, resilience)
        assert breaker.state == "open"
        with pytest.raises(CircuitOpenError) as caught:
            run_sync(server.url, resilience)
        assert caught.value.attempts == 0
        assert caught.value.retry_after == 5
        assert len(server.requests) == 2  # the open circuit made no call
        now[0] = 5.0
        assert breaker.state == "half_open"
        with pytest.raises(UpstreamBadResponseError):
            run_sync(server.url, resilience)  # the probe fails: open again
        assert breaker.state == "open"
        now[0] = 10.0
        server.reply = Reply(body=PAGE)
        run_sync(server.url, resilience)  # the probe succeeds: closed
        assert breaker.state == "closed"


def test_half_open_lets_one_probe_through():
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=1, clock=lambda: now[0])
    breaker.record_failure()
    now[0] = 1.0
    breaker.before_call()  # the probe
    with pytest.raises(CircuitOpenError):
        breaker.before_call()  # everyone else waits for its outcome
    breaker.abandon()
    breaker.before_call()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(status=400, body=b'{"detail": "next_token is malformed"}'), UpstreamRejectedError),
        (Reply(status=422, body=b'{"detail": []}'), UpstreamRejectedError),
        (Reply(status=500, body=b'{"detail": "internal error"}'), UpstreamBadResponseError),
        (Reply(body=b'{"wrong": "shape"}'), UpstreamBadResponseError),
    ],
    ids=["400", "422", "500", "wrong-shape"],
)
def test_answers_about_the_request_never_count_against_the_upstream(reply, error):
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=60)
    budget = RetryBudget(capacity=10)
    with MisbehavingServer(reply) as server:
        for _ in range(5):
            with pytest.raises(error):
                run_sync(server.url, Resilience(FAST, budget=budget, breaker=breaker))
    assert breaker.state == "closed"
    assert budget.tokens == 10
    assert len(server.requests) == 5  # never retried


HOT_PARTITION = Reply(
    status=429,
    body=json.dumps({"detail": TooManyRequestsError.details[0]}).encode(),
    headers={"Retry-After": "2", "content-type": "application/json"},
)


@RUNNERS
def test_a_hot_partition_is_passed_on_never_retried_nor_counted(run):
    """One noisy caller's throttled partition must not open the circuit for everyone."""
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=60)
    budget = RetryBudget(capacity=10)
    with MisbehavingServer(HOT_PARTITION) as server:
        for _ in range(5):
            with pytest.raises(UpstreamTooManyRequestsError) as caught:
                run(server.url, Resilience(FAST, budget=budget, breaker=breaker))
    assert len(server.requests) == 5  # never retried
    assert breaker.state == "closed"
    assert budget.tokens == 10
    assert error_answer(caught.value) == (
        429,
        {"Retry-After": "2"},
        {"detail": TooManyRequestsError.details[0]},
    )


@RUNNERS
def test_api_gateways_own_429_is_still_throttling_of_the_upstream(run):
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=60)
    policy = RetryPolicy(deadline=2, attempt_timeout=0.5, max_attempts=1)
    gateway = Reply(status=429, body=b'{"message": "Too Many Requests"}')
    with MisbehavingServer(gateway) as server, pytest.raises(UpstreamThrottledError):
        run(server.url, Resilience(policy, breaker=breaker))
    assert breaker.state == "open"


def test_an_answer_about_the_request_ends_a_run_of_failures():
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=60)
    policy = RetryPolicy(deadline=2, attempt_timeout=0.5, max_attempts=1)
    replies = sequence(
        Reply(status=503, body=b"{}"),
        Reply(status=400, body=b'{"detail": "bad token"}'),
        Reply(status=503, body=b"{}"),
        Reply(status=503, body=b"{}"),
    )
    outcomes = []
    with MisbehavingServer(replies) as server:
        for _ in range(4):
            with pytest.raises((UpstreamRejectedError, UpstreamUnavailableError)) as caught:
                run_sync(server.url, Resilience(policy, breaker=breaker))
            outcomes.append((type(caught.value).__name__, breaker.state))
    assert outcomes == [
        ("UpstreamUnavailableError", "closed"),
        ("UpstreamBadRequestError", "closed"),  # the upstream answered: the run starts over
        ("UpstreamUnavailableError", "closed"),
        ("UpstreamUnavailableError", "open"),
    ]


def test_policy_and_breaker_refuse_nonsense():
    with pytest.raises(ValueError, match="deadline"):
        RetryPolicy(deadline=0)
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=0)


def test_full_jitter_stays_within_its_ceiling():
    policy = RetryPolicy(backoff_base=0.1, backoff_max=0.3)
    samples = [policy.backoff(n) for n in range(6) for _ in range(50)]
    assert all(0 <= s <= 0.3 for s in samples)
    assert max(policy.backoff(0) for _ in range(200)) <= 0.1
