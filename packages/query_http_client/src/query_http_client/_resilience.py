"""Deadline, retries with a budget, and a circuit breaker around one logical call.

* **Deadline**: one overall deadline per call covers every attempt and every pause.
  Each attempt gets ``min(attempt_timeout, time left)``; when the deadline has passed
  the call ends with ``UpstreamTimeoutError`` at once, with no further attempt.
* **Retries** (stamina's retry loop): at most ``max_attempts``; only errors marked
  ``retryable`` (connect errors, timeouts, 429/throttling, 502, 503, 504); the pause
  is exponential backoff with full jitter, or the server's ``Retry-After`` when it
  sent one, and a retry is made only if the pause leaves time for an attempt.
* **Retry budget**: a token bucket shared by the process, as in the AWS SDKs'
  *standard* retry mode: a retry costs 5 tokens (10 after a timeout), a success
  returns 1 (or the cost of its own retry), the bucket holds 500. When the upstream
  is failing, the budget runs dry and calls fail after their first attempt, instead
  of tripling the load on a struggling service.
* **Circuit breaker**: ``failure_threshold`` failed calls in a row open it; while open,
  calls fail at once with ``CircuitOpenError`` (and its cool-down as ``retry_after``);
  after ``reset_timeout`` one probe call is let through, and its outcome closes or
  re-opens the circuit.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

import stamina

from query_http_client._exceptions import (
    CircuitOpenError,
    QueryClientError,
    UpstreamError,
    UpstreamTimeoutError,
)

__all__ = ["CircuitBreaker", "Resilience", "RetryBudget", "RetryPolicy"]

T = TypeVar("T")
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
    """Runs one logical call with the policy, the budget and the breaker."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        budget: RetryBudget | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.budget = budget
        self.breaker = breaker

    def _hook(
        self, give_up_at: float, state: dict[str, int]
    ) -> Callable[[Exception], bool | float]:
        def should_retry(exc: Exception) -> bool | float:
            if not isinstance(exc, UpstreamError) or not exc.retryable:
                return False
            pause = (
                exc.retry_after
                if exc.retry_after is not None
                else self.policy.backoff(state["attempts"] - 1)
            )
            if time.monotonic() + pause + _MIN_ATTEMPT_SECONDS >= give_up_at:
                return False
            if self.budget is not None:
                cost = self.budget.acquire(timeout=isinstance(exc, UpstreamTimeoutError))
                if not cost:
                    return False
                state["spent"] += cost
            return pause

        return should_retry

    def _timeout_for(self, give_up_at: float) -> float:
        left = give_up_at - time.monotonic()
        if left <= 0:
            raise UpstreamTimeoutError(
                f"the internal API did not answer within {self.policy.deadline:g} s"
            )
        return min(self.policy.attempt_timeout, left)

    def _finish(self, state: dict[str, int], error: BaseException | None) -> None:
        if error is None or (
            isinstance(error, QueryClientError) and not isinstance(error, UpstreamError)
        ):
            # A page, or a 4xx about the request itself: the upstream is answering.
            if self.breaker is not None:
                self.breaker.record_success()
            if self.budget is not None and error is None:
                self.budget.release(state["spent"])
        elif isinstance(error, UpstreamError):
            error.attempts = state["attempts"]
            if self.breaker is not None and not isinstance(error, CircuitOpenError):
                self.breaker.record_failure()
        elif self.breaker is not None:  # cancelled: neither outcome, free the probe slot
            self.breaker.abandon()

    async def run_async(self, attempt: Callable[[float], Awaitable[T]]) -> T:
        """``attempt(timeout)`` until it succeeds or the policy says stop.

        The first attempt runs without the retry machinery (most calls succeed at once
        and stamina's loop costs ~30 µs); a retryable failure hands over to stamina.
        """
        if self.breaker is not None:
            self.breaker.before_call()
        give_up_at = time.monotonic() + self.policy.deadline
        state = {"attempts": 1, "spent": 0}
        hook = self._hook(give_up_at, state)
        try:
            try:
                result = await attempt(self._timeout_for(give_up_at))
            except Exception as first:
                pause = hook(first)
                if pause is False or self.policy.max_attempts < 2:
                    raise
                await asyncio.sleep(float(pause))
                async for retry in stamina.retry_context(
                    on=hook, attempts=self.policy.max_attempts - 1, timeout=None
                ):
                    with retry:
                        timeout = self._timeout_for(give_up_at)
                        state["attempts"] += 1
                        result = await attempt(timeout)
        except BaseException as exc:
            self._finish(state, exc)
            raise
        self._finish(state, None)
        return result

    def run_sync(self, attempt: Callable[[float], T]) -> T:
        """The blocking twin of ``run_async``."""
        if self.breaker is not None:
            self.breaker.before_call()
        give_up_at = time.monotonic() + self.policy.deadline
        state = {"attempts": 1, "spent": 0}
        hook = self._hook(give_up_at, state)
        try:
            try:
                result = attempt(self._timeout_for(give_up_at))
            except Exception as first:
                pause = hook(first)
                if pause is False or self.policy.max_attempts < 2:
                    raise
                time.sleep(float(pause))
                for retry in stamina.retry_context(
                    on=hook, attempts=self.policy.max_attempts - 1, timeout=None
                ):
                    with retry:
                        timeout = self._timeout_for(give_up_at)
                        state["attempts"] += 1
                        result = attempt(timeout)
        except BaseException as exc:
            self._finish(state, exc)
            raise
        self._finish(state, None)
        return result
