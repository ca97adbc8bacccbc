"""The public API of query_http_client, pinned: a name added or dropped is a decision."""

from __future__ import annotations

import query_http_client


def test_public_api_is_pinned():
    assert len(set(query_http_client.__all__)) == len(query_http_client.__all__)
    assert set(query_http_client.__all__) == {
        "DEFAULT_TIMEOUT",
        "MAX_RESPONSE_BYTES",
        "AsyncQueryClient",
        "QueryClient",
        "AsyncTransport",
        "SyncTransport",
        "TransportRequest",
        "TransportResponse",
        "AiohttpTransport",
        "Urllib3Transport",
        "RequestSigner",
        "Resilience",
        "RetryBudget",
        "RetryPolicy",
        "CircuitBreaker",
        "QueryClientError",
        "UpstreamRejectedError",
        "UpstreamError",
        "UpstreamUnavailableError",
        "UpstreamThrottledError",
        "CircuitOpenError",
        "UpstreamTimeoutError",
        "UpstreamTooManyRequestsError",
        "UpstreamBadResponseError",
        "UpstreamMisconfiguredError",
        "UpstreamBadRequestError",
        "UpstreamValidationError",
    }
