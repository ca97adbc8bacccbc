"""Deadline, retries with a budget, and a circuit breaker around one logical call.

One deadline covers every attempt and pause; only ``retryable`` errors (the availability
failures) are retried, charged to the process's retry budget and counted by the breaker.
What each part does and why it is written here: docs/decisions/0005-retries-and-breaker.md.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Literal

from query_http_client._exceptions import CircuitOpenError, UpstreamError, UpstreamTimeoutError

__all__ = [
    "CircuitBreaker",
    "Resilience",
    "RetryBudget",
    "RetryPolicy",
    "counts_against_availability",
]

#: Time an attempt needs at the least to be worth starting.
_MIN_ATTEMPT_SECONDS: Final = 0.05


@dataclass(frozen=True)
class RetryPolicy:
    """How one call is retried and how long it may take in all."""

    deadline: float = 10.0
    attempt_timeout: float = 5.0
    max_attempts: int = 3
    backoff_base: float = 0.05
    backoff_max: float = 1.0

    def __post_init__(self) -> None:
        if self.deadline <= 0 or self.attempt_timeout <= 0 or self.max_attempts < 1:
            raise ValueError("deadline and attempt_timeout must be > 0, max_attempts >= 1")

    def backoff(self, retry_number: int) -> float:
        """Full jitter: uniform in [0, min(max, base * 2**n)]."""
        ceiling = min(self.backoff_max, self.backoff_base * 2**retry_number)
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not secrets


class RetryBudget:
    """A token bucket shared by every call of the process (AWS SDK standard retry mode)."""

    def __init__(
        self, capacity: int = 500, retry_cost: int = 5, timeout_cost: int = 10, refill: int = 1
    ) -> None:
        self.capacity = capacity
        self.retry_cost = retry_cost
        self.timeout_cost = timeout_cost
        self.refill = refill
        self._tokens = capacity
        self._lock = threading.Lock()

    @property
    def tokens(self) -> int:
        return self._tokens

    def acquire(self, *, timeout: bool) -> int:
        """Take the cost of one retry; returns it, or 0 when the budget is spent."""
        cost = self.timeout_cost if timeout else self.retry_cost
        with self._lock:
            if self._tokens < cost:
                return 0
            self._tokens -= cost
            return cost

    def release(self, spent: int) -> None:
        """A call succeeded: return what its retries cost, or ``refill`` if it had none."""
        with self._lock:
            self._tokens = min(self.capacity, self._tokens + (spent or self.refill))


class CircuitBreaker:
    """Closed -> open after a run of failed calls -> half-open (one probe) -> closed."""

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or reset_timeout <= 0:
            raise ValueError("failure_threshold must be >= 1 and reset_timeout > 0")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self._lock = threading.Lock()

    @property
    def state(self) -> Literal["closed", "open", "half_open"]:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if self._probing or self._clock() - self._opened_at >= self.reset_timeout:
                return "half_open"
            return "open"

    def before_call(self) -> None:
        """Raise ``CircuitOpenError`` unless this call may go ahead."""
        with self._lock:
            if self._opened_at is None:
                return
            left = self.reset_timeout - (self._clock() - self._opened_at)
            if left > 0 or self._probing:
                raise CircuitOpenError(retry_after=max(left, 0.0) or self.reset_timeout)
            self._probing = True  # this call is the probe

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probing = False

    def abandon(self) -> None:
        """A call that ended without an outcome (cancelled): let another probe go."""
        with self._lock:
            self._probing = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._probing or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
                self._probing = False


class Resilience:
    """Runs one logical call with the policy, the budget and the breaker.

    ``clock`` (seconds, monotonic) measures the deadline; tests give it a hand-turned one.
    """

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        budget: RetryBudget | None = None,
        breaker: CircuitBreaker | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.budget = budget
        self.breaker = breaker
        self.clock = clock

    @classmethod
    def single_attempt(cls, timeout: float) -> Resilience:
        """One attempt bounded by ``timeout``: no retries, no budget, no breaker."""
        return cls(RetryPolicy(deadline=timeout, attempt_timeout=timeout, max_attempts=1))

    async def run_async[T](self, attempt: Callable[[float], Awaitable[T]]) -> T:
        """``await attempt(timeout)`` until it succeeds or the policy says stop."""
        with _Call(self) as call:
            while True:
                try:
                    return await attempt(call.timeout())
                except Exception as exc:
                    await asyncio.sleep(call.pause_before_retry(exc))

    def run_sync[T](self, attempt: Callable[[float], T]) -> T:
        """The blocking twin of ``run_async``: only ``await`` and the sleep differ."""
        with _Call(self) as call:
            while True:
                try:
                    return attempt(call.timeout())
                except Exception as exc:
                    time.sleep(call.pause_before_retry(exc))


class _Call:
    """One logical call's state: its deadline, its attempts, what its retries cost.

    The decisions live here, once; ``run_async`` and ``run_sync`` only do the waiting.
    Leaving the ``with`` block records the outcome with the breaker and the budget.
    """

    __slots__ = ("_give_up_at", "_r", "attempts", "spent")

    def __init__(self, resilience: Resilience) -> None:
        self._r = resilience
        self.attempts = 0
        self.spent = 0
        self._give_up_at = 0.0

    def __enter__(self) -> _Call:
        if self._r.breaker is not None:
            self._r.breaker.before_call()
        self._give_up_at = self._r.clock() + self._r.policy.deadline
        return self

    def timeout(self) -> float:
        """The next attempt's timeout: ``min(attempt_timeout, time left)``; past the deadline
        the call ends with ``UpstreamTimeoutError``."""
        left = self._give_up_at - self._r.clock()
        if left <= 0:
            raise UpstreamTimeoutError(
                f"the upstream did not answer within {self._r.policy.deadline:g} s"
            )
        self.attempts += 1
        return min(self._r.policy.attempt_timeout, left)

    def pause_before_retry(self, exc: Exception) -> float:
        """Seconds to wait before the next attempt; re-raises ``exc`` when there is none."""
        policy = self._r.policy
        if (
            not isinstance(exc, UpstreamError)
            or not exc.retryable
            or self.attempts >= policy.max_attempts
        ):
            raise exc
        pause = exc.upstream_retry_after
        if pause is None:
            pause = policy.backoff(self.attempts - 1)
        if self._r.clock() + pause + _MIN_ATTEMPT_SECONDS >= self._give_up_at:
            raise exc
        if self._r.budget is not None:
            cost = self._r.budget.acquire(timeout=isinstance(exc, UpstreamTimeoutError))
            if not cost:
                raise exc
            self.spent += cost
        return pause

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        breaker, budget = self._r.breaker, self._r.budget
        if isinstance(error, UpstreamError):
            error.attempts = self.attempts
        if error is None:
            if budget is not None:
                budget.release(self.spent)
            if breaker is not None:
                breaker.record_success()
        elif not isinstance(error, Exception):  # cancelled: no outcome; free the probe slot
            if breaker is not None:
                breaker.abandon()
        elif breaker is not None:
            if counts_against_availability(error):
                breaker.record_failure()
            else:  # the upstream answered (a 4xx, a 500 for this input): it is available
                breaker.record_success()


def counts_against_availability(error: BaseException) -> bool:
    """Whether a failed call says the upstream is unavailable: only then does the breaker
    count it (and only then was it retried, at the budget's cost).

    Connection errors, timeouts, throttling and the gateway's 502/503/504 do; an answer
    about the request itself (a 4xx, the Lambda's 500 for this input, an unusable page)
    does not: one caller's bad input must not open the circuit for everyone.
    """
    return isinstance(error, UpstreamError) and error.retryable
