"""The errors of ``query_http_client``; no aiohttp, urllib3 or botocore exception escapes it.

```
QueryClientError
├── UpstreamRejectedError        the API refused the request (4xx other than 429) -> same status
└── UpstreamError                the upstream failed us
    ├── UpstreamUnavailableError   unreachable: refused, reset, DNS; API 503    -> 503  (r)
    │   ├── UpstreamThrottledError   429 or API Gateway throttling               -> 503  (r)
    │   └── CircuitOpenError         the breaker is open: not even tried         -> 503
    ├── UpstreamTimeoutError       no answer within the deadline; API 504       -> 504  (r)
    └── UpstreamBadResponseError   500, non-JSON, wrong shape, oversized body   -> 502
        │                          (502 and a body cut off in the middle: (r))
        └── UpstreamMisconfiguredError  API Gateway 403: policy, endpoint, stage -> 502
```

(r): ``retryable``. These are the availability failures: the only errors that are retried,
charged to the retry budget, and counted by the circuit breaker. The others answer the
request itself, so one caller's bad input never counts against the upstream.

Every ``UpstreamError`` carries ``attempts``: how many calls were made (0 when the breaker
was open).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CircuitOpenError",
    "QueryClientError",
    "UpstreamBadResponseError",
    "UpstreamError",
    "UpstreamMisconfiguredError",
    "UpstreamRejectedError",
    "UpstreamThrottledError",
    "UpstreamTimeoutError",
    "UpstreamUnavailableError",
]


class QueryClientError(Exception):
    """Root of every error raised by ``query_http_client``."""


class UpstreamRejectedError(QueryClientError):
    """The internal API answered 4xx: the request itself is wrong (e.g. a stale next_token)."""

    def __init__(self, status_code: int, detail: Any) -> None:
        super().__init__(f"the internal API rejected the request with {status_code}")
        self.status_code = status_code
        self.detail = detail


class UpstreamError(QueryClientError):
    """The internal API failed; ``status_code`` is its HTTP status when it answered."""

    #: An availability failure (connect errors, timeouts, 429, 502-504): another attempt
    #: could succeed, and the circuit breaker counts it.
    retryable: bool = False

    def __init__(
        self, message: str, *, status_code: int | None = None, retryable: bool | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.attempts = 1
        self.retry_after: float | None = None
        if retryable is not None:
            self.retryable = retryable


class UpstreamUnavailableError(UpstreamError):
    """The internal API could not be reached (or said it is unavailable)."""

    retryable = True


class UpstreamThrottledError(UpstreamUnavailableError):
    """The internal API is throttling; ``retry_after`` is its hint in seconds, if any."""

    def __init__(
        self, message: str, *, status_code: int | None = 429, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class CircuitOpenError(UpstreamUnavailableError):
    """The circuit breaker is open: the call was not made; ``retry_after`` is the cool-down left."""

    retryable = False

    def __init__(self, retry_after: float) -> None:
        super().__init__("the internal API's circuit is open after repeated failures")
        self.retry_after = retry_after
        self.attempts = 0


class UpstreamTimeoutError(UpstreamError):
    """The internal API did not answer within the deadline."""

    retryable = True


class UpstreamBadResponseError(UpstreamError):
    """The internal API answered something unusable."""


class UpstreamMisconfiguredError(UpstreamBadResponseError):
    """API Gateway refused the call (403): ``likely_cause`` says what to check."""

    def __init__(self, message: str, *, error_type: str, likely_cause: str) -> None:
        super().__init__(message, status_code=403)
        self.error_type = error_type
        self.likely_cause = likely_cause
