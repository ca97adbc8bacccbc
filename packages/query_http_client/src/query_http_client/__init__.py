"""Typed client for the query service's private internal API (docs/contract.md#internal-api).

``AsyncQueryClient`` (aiohttp) for the service, one per process; ``QueryClient``
(urllib3) for scripts. aiohttp was chosen by measurement: docs/decisions/.
"""

from query_http_client._async import AsyncQueryClient
from query_http_client._exceptions import (
    CircuitOpenError,
    QueryClientError,
    UpstreamBadResponseError,
    UpstreamError,
    UpstreamMisconfiguredError,
    UpstreamRejectedError,
    UpstreamThrottledError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from query_http_client._protocol import (
    DEFAULT_TIMEOUT,
    MAX_RESPONSE_BYTES,
    RequestSigner,
    parse_response,
)
from query_http_client._resilience import CircuitBreaker, Resilience, RetryBudget, RetryPolicy
from query_http_client._sync import QueryClient

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_RESPONSE_BYTES",
    "AsyncQueryClient",
    "CircuitBreaker",
    "CircuitOpenError",
    "QueryClient",
    "QueryClientError",
    "RequestSigner",
    "Resilience",
    "RetryBudget",
    "RetryPolicy",
    "UpstreamBadResponseError",
    "UpstreamError",
    "UpstreamMisconfiguredError",
    "UpstreamRejectedError",
    "UpstreamThrottledError",
    "UpstreamTimeoutError",
    "UpstreamUnavailableError",
    "parse_response",
]
