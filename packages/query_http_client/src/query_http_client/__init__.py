"""Typed client for the results, POST /query/result (docs/contract.md#internal-api).

The client's protocol (encode, size check, decode, envelope unwrap, error mapping) runs
over a transport (model: httpx's ``_transports``):

* ``AiohttpTransport``: the private API over aiohttp, for the service (``AsyncQueryClient``);
* ``Urllib3Transport``: the private API over urllib3, for scripts (``QueryClient``);
* ``query_http_client.lambda_invoke.LambdaInvokeTransport`` (extra ``lambda``): the legacy
  boto3 ``Invoke`` of the Query Result Lambda, the rollback path; sync and async.

``Resilience`` adds a deadline, retries, a retry budget and a circuit breaker to any of
them. Why these libraries: docs/decisions/0003-http-client-stack.md.
"""

from query_http_client._client import AsyncQueryClient, QueryClient
from query_http_client._exceptions import (
    CircuitOpenError,
    QueryClientError,
    UpstreamBadRequestError,
    UpstreamBadResponseError,
    UpstreamError,
    UpstreamMisconfiguredError,
    UpstreamRejectedError,
    UpstreamThrottledError,
    UpstreamTimeoutError,
    UpstreamTooManyRequestsError,
    UpstreamUnavailableError,
    UpstreamValidationError,
)
from query_http_client._protocol import DEFAULT_TIMEOUT, MAX_RESPONSE_BYTES, RequestSigner
from query_http_client._resilience import CircuitBreaker, Resilience, RetryBudget, RetryPolicy
from query_http_client._transports._aiohttp import AiohttpTransport
from query_http_client._transports._urllib3 import Urllib3Transport
from query_http_client._transports.base import (
    AsyncTransport,
    SyncTransport,
    TransportRequest,
    TransportResponse,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_RESPONSE_BYTES",
    "AiohttpTransport",
    "AsyncQueryClient",
    "AsyncTransport",
    "CircuitBreaker",
    "CircuitOpenError",
    "QueryClient",
    "QueryClientError",
    "RequestSigner",
    "Resilience",
    "RetryBudget",
    "RetryPolicy",
    "SyncTransport",
    "TransportRequest",
    "TransportResponse",
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
    "Urllib3Transport",
]
