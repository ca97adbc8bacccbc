"""The errors of ``query_http_client``; no aiohttp, urllib3 or botocore exception escapes it.

Each is also a class of ``query_core``'s error tree (docs/contract.md#errors): it carries
the answer a caller of this client gives its own client (``status_code``, ``detail``,
``Retry-After``), so a service answers any of them with ``query_core.error_answer``.
``str(error)`` is what happened, for the logs; ``detail`` is what the client is told.

```
QueryClientError
├── UpstreamRejectedError          the upstream says the request itself is wrong
│   ├── UpstreamBadRequestError      400, e.g. a tampered next_token           -> 400
│   ├── UpstreamValidationError      422, FastAPI's validation list           -> 422
│   └── UpstreamTooManyRequestsError 429 of the Query Result Lambda: this user's
│                                    partition is throttled (Retry-After)      -> 429
└── UpstreamError                  the upstream failed us (a DependencyError)
    ├── UpstreamUnavailableError     unreachable: refused, reset, DNS; API 503  -> 503  (r)
    │   ├── UpstreamThrottledError     API Gateway's own throttling (429)        -> 503  (r)
    │   └── CircuitOpenError           the breaker is open: not even tried       -> 503
    ├── UpstreamTimeoutError         no answer within the deadline; API 504     -> 504  (r)
    └── UpstreamBadResponseError     500, other 4xx, non-JSON, wrong shape, too large -> 502
        │                            (502 and a body cut off in the middle: (r))
        └── UpstreamMisconfiguredError  API Gateway 403: policy, endpoint, stage  -> 502
```

(r): ``retryable``. These are the availability failures: the only errors that are retried,
charged to the retry budget, and counted by the circuit breaker. The others answer the
request itself, so one caller's bad input never counts against the upstream. A 429 that
the Query Result Lambda answers (DynamoDB throttled one user's partition) is the caller's
pace, not the upstream failing: it is passed on with its ``Retry-After``, never retried
and never counted, so one noisy caller cannot open the breaker for everyone
(docs/contract.md#fair-share). API Gateway's own throttling (its ``x-amzn-ErrorType``,
or a 429 without the contract's detail) still is an availability failure.

An upstream's 4xx ``detail`` is passed on only when it is one the contract gives for that
status (``query_core.public_error_detail``); ``upstream_detail`` keeps what it said.
Every ``UpstreamError`` carries ``attempts``: how many calls were made (0 when the breaker
was open), and ``upstream_status``: the upstream's HTTP status, when it answered.
"""

from __future__ import annotations

from typing import Any

from query_core import (
    BadGatewayError,
    BadRequestError,
    DependencyError,
    GatewayTimeoutError,
    RequestError,
    RequestValidationError,
    ServiceUnavailableError,
    TooManyRequestsError,
    public_error_detail,
)

__all__ = [
    "CircuitOpenError",
    "QueryClientError",
    "UpstreamBadRequestError",
    "UpstreamBadResponseError",
    "UpstreamError",
    "UpstreamMisconfiguredError",
    "UpstreamRejectedError",
    "UpstreamThrottledError",
    "UpstreamTimeoutError",
    "UpstreamTooManyRequestsError",
    "UpstreamUnavailableError",
    "UpstreamValidationError",
]


class QueryClientError(Exception):
    """Root of every error raised by ``query_http_client``."""


class UpstreamRejectedError(QueryClientError, RequestError):
    """The upstream answered that the request itself is wrong: the caller gets the same status."""

    def __init__(self, upstream_detail: Any) -> None:
        super().__init__(public_error_detail(self.status_code, upstream_detail))
        self.args = (f"the upstream rejected the request with {self.status_code}",)
        self.upstream_detail = upstream_detail


class UpstreamBadRequestError(UpstreamRejectedError, BadRequestError):
    """400: e.g. a ``next_token`` that is malformed, tampered or foreign."""


class UpstreamValidationError(UpstreamRejectedError, RequestValidationError):
    """422: JSON that breaks the field rules (the upstream's validation list)."""

    def __init__(self, upstream_detail: Any) -> None:
        RequestValidationError.__init__(self, public_error_detail(422, upstream_detail))
        self.args = ("the upstream rejected the request with 422",)
        self.upstream_detail = upstream_detail


class UpstreamTooManyRequestsError(UpstreamRejectedError, TooManyRequestsError):
    """429 from the Query Result Lambda: this user's reads are throttled; ``retry_after``
    is the upstream's ``Retry-After`` (1 s when it sent none)."""

    def __init__(self, upstream_detail: Any, *, retry_after: float | None = None) -> None:
        super().__init__(upstream_detail)
        if retry_after is not None:
            self.retry_after = retry_after


class UpstreamError(QueryClientError, DependencyError):
    """The upstream failed; the class says how, and what the caller answers."""

    #: An availability failure (connect errors, timeouts, 429, 502-504): another attempt
    #: could succeed, and the circuit breaker counts it.
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        upstream_status: int | None = None,
        retryable: bool | None = None,
        upstream_retry_after: float | None = None,
    ) -> None:
        super().__init__()  # the answer: this class's detail, and its Retry-After
        self.args = (message,)
        self.upstream_status = upstream_status
        #: The upstream's own ``Retry-After`` (seconds): the pause before a retry.
        self.upstream_retry_after = upstream_retry_after
        if upstream_retry_after is not None:
            self.retry_after = upstream_retry_after
        self.attempts = 1
        if retryable is not None:
            self.retryable = retryable


class UpstreamUnavailableError(UpstreamError, ServiceUnavailableError):
    """The upstream could not be reached (or said it is unavailable)."""

    retryable = True
    details = ("the results service is unavailable; retry later",)


class UpstreamThrottledError(UpstreamUnavailableError):
    """The upstream is throttling; ``upstream_retry_after`` is its hint in seconds, if any."""

    details = ("the results service is busy; retry later",)

    def __init__(
        self,
        message: str,
        *,
        upstream_status: int | None = 429,
        upstream_retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, upstream_status=upstream_status, upstream_retry_after=upstream_retry_after
        )


class CircuitOpenError(UpstreamUnavailableError):
    """The circuit breaker is open: the call was not made; ``retry_after`` is the cool-down left."""

    retryable = False
    details = ("the results service is failing; retry later",)

    def __init__(self, retry_after: float) -> None:
        super().__init__("the upstream's circuit is open after repeated failures")
        self.retry_after = retry_after
        self.attempts = 0


class UpstreamTimeoutError(UpstreamError, GatewayTimeoutError):
    """The upstream did not answer within the deadline."""

    retryable = True
    details = ("the results service did not answer in time",)


class UpstreamBadResponseError(UpstreamError, BadGatewayError):
    """The upstream answered something unusable."""

    details = ("the results service answered something unusable",)


class UpstreamMisconfiguredError(UpstreamBadResponseError):
    """API Gateway (or the Lambda API) refused the call: ``likely_cause`` says what to check."""

    details = ("the results service refused the call",)

    def __init__(self, message: str, *, error_type: str, likely_cause: str) -> None:
        super().__init__(message, upstream_status=403)
        self.error_type = error_type
        self.likely_cause = likely_cause
