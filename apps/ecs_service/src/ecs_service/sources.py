"""Where results come from: the ``ResultSource`` protocol and its two implementations.

* ``InternalApiSource`` (default, ``RESULT_SOURCE=internal_api``): ``POST
  {INTERNAL_API_URL}/query/result`` through the private API Gateway, with the
  deadline, retries, budget and breaker of ``query_http_client``.
* ``LambdaInvokeSource`` (``RESULT_SOURCE=lambda``): the pre-migration path, boto3
  ``Invoke`` (RequestResponse) of the Query Result Lambda, as the old
  ``LambdaAdapter.invoke_lambda`` did. It is the rollback path; botocore's own
  exceptions are translated here, into the same errors the HTTP client raises, so
  both sources answer failures alike.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import TYPE_CHECKING, Any, Protocol

from query_core import QueryRequest, QueryResponse
from query_http_client import (
    AsyncQueryClient,
    CircuitBreaker,
    Resilience,
    RetryBudget,
    RetryPolicy,
    UpstreamBadResponseError,
    UpstreamMisconfiguredError,
    UpstreamThrottledError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
    parse_response,
)

if TYPE_CHECKING:
    from ecs_service.settings import ServiceSettings

__all__ = ["InternalApiSource", "LambdaInvokeSource", "ResultSource", "create_source"]

_log = logging.getLogger("ecs_service.sources")


class ResultSource(Protocol):
    """Gives one page of results; raises ``query_http_client`` errors when it fails."""

    async def open(self) -> None: ...

    async def aclose(self) -> None: ...

    async def query(self, request: QueryRequest, *, request_id: str) -> QueryResponse: ...


class InternalApiSource:
    """The default source: the private API over a pooled, resilient client."""

    def __init__(self, client: AsyncQueryClient) -> None:
        self._client = client

    async def open(self) -> None:
        await self._client.open()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def query(self, request: QueryRequest, *, request_id: str) -> QueryResponse:
        return await self._client.query(request, request_id=request_id)


class LambdaInvokeSource:
    """The legacy source: boto3 ``Invoke`` of the Query Result Lambda (rollback path).

    boto3 is blocking: each call runs in a worker thread, bounded by the deadline
    (botocore's read timeout) and botocore's standard retry mode.
    """

    def __init__(
        self,
        function_name: str,
        *,
        region: str,
        endpoint_url: str | None,
        deadline: float,
        connect_timeout: float,
        max_attempts: int,
    ) -> None:
        self._function_name = function_name
        self._region = region
        self._endpoint_url = endpoint_url
        self._deadline = deadline
        self._connect_timeout = connect_timeout
        self._max_attempts = max_attempts
        self._client: Any = None

    async def open(self) -> None:
        self._client = await asyncio.to_thread(self._create_client)

    def _create_client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "lambda",
            region_name=self._region,
            endpoint_url=self._endpoint_url,
            config=Config(
                connect_timeout=self._connect_timeout,
                read_timeout=self._deadline,
                retries={"mode": "standard", "max_attempts": self._max_attempts},
                ignore_configured_endpoint_urls=self._endpoint_url is None,  # type: ignore[call-arg]
            ),
        )

    async def aclose(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def query(self, request: QueryRequest, *, request_id: str) -> QueryResponse:
        if self._client is None:
            raise RuntimeError("LambdaInvokeSource is not open")
        payload = request.model_dump_json(exclude_none=True).encode()
        # The request id travels in the ClientContext, which the handler reads.
        context = base64.b64encode(json.dumps({"custom": {"request_id": request_id}}).encode())
        try:
            response = await asyncio.wait_for(
                asyncio.to_thread(
                    self._client.invoke,
                    FunctionName=self._function_name,
                    InvocationType="RequestResponse",
                    Payload=payload,
                    ClientContext=context.decode(),
                ),
                self._deadline,
            )
            body = await asyncio.to_thread(response["Payload"].read)
        except TimeoutError as exc:
            raise UpstreamTimeoutError(
                f"the Query Result Lambda did not answer within {self._deadline:g} s"
            ) from exc
        except Exception as exc:
            raise _translate(exc) from exc
        if response.get("FunctionError"):
            raise UpstreamBadResponseError(
                f"the Query Result Lambda failed ({response['FunctionError']}): {_error_type(body)}"
            )
        return parse_response(200, {}, body)


def _error_type(body: bytes) -> str:
    try:
        return str(json.loads(body).get("errorType", "unknown error"))
    except (ValueError, AttributeError):
        return "unknown error"


def _translate(exc: Exception) -> Exception:
    """botocore's exceptions as the client's error tree (the one boundary for them)."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(exc, ReadTimeoutError | ConnectTimeoutError):
        return UpstreamTimeoutError("the Query Result Lambda did not answer in time")
    if isinstance(exc, EndpointConnectionError):
        return UpstreamUnavailableError("the Lambda service is unreachable")
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("TooManyRequestsException", "ThrottlingException"):
            return UpstreamThrottledError(f"Lambda throttled the invocation ({code})")
        if code in ("ResourceNotFoundException", "AccessDeniedException"):
            return UpstreamMisconfiguredError(
                f"Lambda refused the invocation ({code})",
                error_type=code,
                likely_cause="check QUERY_RESULT_LAMBDA_NAME and that the task role may "
                "lambda:InvokeFunction on it",
            )
        return UpstreamBadResponseError(f"Lambda refused the invocation ({code or 'error'})")
    return exc


def create_source(settings: ServiceSettings) -> ResultSource:
    """The source the settings ask for."""
    if settings.result_source == "lambda":
        assert settings.query_result_lambda_name is not None  # noqa: S101 - validated
        return LambdaInvokeSource(
            settings.query_result_lambda_name,
            region=settings.aws_region,
            endpoint_url=settings.aws_endpoint,
            deadline=settings.upstream_deadline_seconds,
            connect_timeout=settings.upstream_connect_timeout_seconds,
            max_attempts=settings.upstream_max_attempts,
        )
    signer = None
    if settings.internal_api_auth == "iam":
        from query_http_client.sigv4 import SigV4Signer

        signer = SigV4Signer(settings.aws_region)
    resilience = None
    if settings.upstream_resilience:
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
    client = AsyncQueryClient(
        settings.upstream_url,
        timeout=settings.upstream_deadline_seconds,
        connect_timeout=settings.upstream_connect_timeout_seconds,
        max_connections=settings.upstream_max_connections,
        signer=signer,
        resilience=resilience,
    )
    return InternalApiSource(client)
