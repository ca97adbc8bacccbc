"""Where results come from: ``create_client`` picks the transport the settings name.

* ``RESULT_SOURCE=internal_api`` (default): ``POST {INTERNAL_API_URL}/query/result``
  through the private API Gateway (aiohttp; SigV4 with ``INTERNAL_API_AUTH=iam``).
* ``RESULT_SOURCE=lambda``: the pre-migration boto3 ``Invoke`` of the Query Result Lambda,
  kept for rollback.

Either way the same client runs it, with the same deadline, retries, retry budget and
circuit breaker (``query_http_client``): this module only chooses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from query_http_client import (
    AiohttpTransport,
    AsyncQueryClient,
    AsyncTransport,
    CircuitBreaker,
    Resilience,
    RetryBudget,
    RetryPolicy,
)

if TYPE_CHECKING:
    from ecs_service.settings import ServiceSettings

__all__ = ["create_client"]


def _transport(settings: ServiceSettings) -> AsyncTransport:
    if settings.result_source == "lambda":
        from query_http_client.lambda_invoke import LambdaInvokeTransport

        assert settings.query_result_lambda_name is not None  # noqa: S101 - validated
        return LambdaInvokeTransport(
            settings.query_result_lambda_name,
            region=settings.aws_region,
            endpoint_url=settings.aws_endpoint,
            connect_timeout=settings.upstream_connect_timeout_seconds,
            read_timeout=settings.upstream_attempt_timeout_seconds,
            max_connections=settings.upstream_max_connections,
        )
    signer = None
    if settings.internal_api_auth == "iam":
        from query_http_client.sigv4 import SigV4Signer

        signer = SigV4Signer(settings.aws_region)
    return AiohttpTransport(
        settings.upstream_url,
        connect_timeout=settings.upstream_connect_timeout_seconds,
        max_connections=settings.upstream_max_connections,
        signer=signer,
    )


def create_client(settings: ServiceSettings) -> AsyncQueryClient:
    """The client the settings ask for; open it in the app's lifespan."""
    if not settings.upstream_resilience:
        return AsyncQueryClient(_transport(settings), timeout=settings.upstream_deadline_seconds)
    resilience = Resilience(
        RetryPolicy(
            deadline=settings.upstream_deadline_seconds,
            attempt_timeout=settings.upstream_attempt_timeout_seconds,
            max_attempts=settings.upstream_max_attempts,
        ),
        budget=RetryBudget(capacity=settings.retry_budget_capacity),
        breaker=CircuitBreaker(
            failure_threshold=settings.breaker_failure_threshold,
            reset_timeout=settings.breaker_reset_seconds,
        ),
    )
    return AsyncQueryClient(_transport(settings), resilience=resilience)
