"""The errors of ``query_http_client``; no aiohttp or urllib3 exception escapes the package.

```
QueryClientError
├── UpstreamRejectedError        the API refused the request (4xx other than 429) -> same status
└── UpstreamError                the API failed us
    ├── UpstreamUnavailableError   unreachable: refused, reset, DNS             -> 503
    │   └── UpstreamThrottledError   429 or API Gateway throttling               -> 503
    ├── UpstreamTimeoutError       no answer within the deadline                -> 504
    └── UpstreamBadResponseError   5xx, non-JSON, wrong shape, oversized body   -> 502
```
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "QueryClientError",
    "UpstreamBadResponseError",
    "UpstreamError",
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

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class UpstreamUnavailableError(UpstreamError):
    """The internal API could not be reached."""


class UpstreamThrottledError(UpstreamUnavailableError):
    """The internal API is throttling; ``retry_after`` is its hint in seconds, if any."""

    def __init__(
        self, message: str, *, status_code: int | None = 429, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class UpstreamTimeoutError(UpstreamError):
    """The internal API did not answer within the deadline."""


class UpstreamBadResponseError(UpstreamError):
    """The internal API answered something unusable."""
