"""``LambdaInvokeTransport``: the legacy way to the results, boto3 ``Invoke`` of the Query Result
Lambda (``RequestResponse``), as the service called it on EKS; kept as the rollback path.

Needs the ``lambda`` extra (boto3). It is a transport like the HTTP ones, so a client on it
gets the same protocol (envelope unwrap, size check, error mapping) and, with
``Resilience``, the same deadline, retries, retry budget and circuit breaker: botocore's own
retries are off. The request's JSON body is the invocation's event (the bare request object,
as the old ``invoke_lambda`` sent it); its ``X-Request-Id`` travels in the ``ClientContext``
(``custom.request_id``), where the handler reads it. The path is not used: the function is
the destination.

boto3 blocks: the async form runs each invocation on this transport's own threads
(``max_connections`` of them, the size of botocore's pool) and bounds it by the attempt's
timeout; botocore's ``read_timeout`` bounds the thread itself, and the blocking form.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import boto3
import botocore.config
import botocore.exceptions
from query_core import REQUEST_ID_HEADER

from query_http_client._exceptions import (
    UpstreamBadResponseError,
    UpstreamError,
    UpstreamMisconfiguredError,
    UpstreamThrottledError,
    UpstreamUnavailableError,
)
from query_http_client._protocol import FUNCTION_ERROR_HEADER, BodyReader
from query_http_client._transports.base import (
    ErrorTable,
    TransportRequest,
    TransportResponse,
    cut_off,
    timed_out,
    unreachable,
    unusable,
)

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

__all__ = ["LambdaInvokeTransport"]

_THROTTLING_CODES = frozenset({"TooManyRequestsException", "ThrottlingException"})
_MISCONFIGURED_CODES = frozenset(
    {"ResourceNotFoundException", "AccessDeniedException", "AccessDeniedError"}
)
_LIKELY_CAUSE = (
    "check the function name (QUERY_RESULT_LAMBDA_NAME in the service) and that the caller's "
    "role may lambda:InvokeFunction on it"
)


def _refused(target: str, exc: BaseException) -> UpstreamError:
    """The Lambda API answered an error (``ClientError``): by its code and status."""
    assert isinstance(exc, botocore.exceptions.ClientError)  # noqa: S101 - the table's row
    code = exc.response.get("Error", {}).get("Code", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    message = f"the Lambda API refused to invoke {target} ({code or status})"
    if code in _THROTTLING_CODES or status == 429:
        return UpstreamThrottledError(message)
    if code in _MISCONFIGURED_CODES or status == 403:
        return UpstreamMisconfiguredError(message, error_type=code, likely_cause=_LIKELY_CAUSE)
    if status >= 500:  # the Lambda service itself (not the function) is failing
        return UpstreamUnavailableError(message, upstream_status=status)
    return UpstreamBadResponseError(message, upstream_status=status)


def _no_credentials(target: str, exc: BaseException) -> UpstreamError:
    return UpstreamMisconfiguredError(
        f"no AWS credentials to invoke {target}",
        error_type=type(exc).__name__,
        likely_cause="give the task a role (or set AWS credentials locally)",
    )


#: botocore's exceptions, most specific first (its timeouts are also connection errors).
_ERRORS = ErrorTable(
    "the Query Result Lambda",
    {
        TimeoutError: timed_out,
        botocore.exceptions.ConnectTimeoutError: timed_out,
        botocore.exceptions.ReadTimeoutError: timed_out,
        botocore.exceptions.EndpointConnectionError: unreachable,
        botocore.exceptions.ConnectionClosedError: cut_off,
        botocore.exceptions.HTTPClientError: unreachable,
        botocore.exceptions.NoCredentialsError: _no_credentials,
        botocore.exceptions.ClientError: _refused,
        botocore.exceptions.BotoCoreError: unusable,
    },
)


class LambdaInvokeTransport:
    """Invokes ``function_name`` with the request's body as its event; sync and async."""

    def __init__(
        self,
        function_name: str,
        *,
        region: str,
        endpoint_url: str | None = None,
        connect_timeout: float = 2.0,
        read_timeout: float = 10.0,
        max_connections: int = 10,
    ) -> None:
        self._function_name = function_name
        self._config = botocore.config.Config(
            region_name=region,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max_connections,
            retries={"total_max_attempts": 1},  # the client's Resilience retries
            # Only the endpoint given here: a library never reads AWS_ENDPOINT_URL itself.
            ignore_configured_endpoint_urls=True,  # type: ignore[call-arg]  # not in the stubs
        )
        self._endpoint_url = endpoint_url
        self._max_connections = max_connections
        self._client: LambdaClient | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _lambda(self) -> LambdaClient:
        with self._lock:
            if self._client is None:
                self._client = boto3.session.Session().client(
                    "lambda", endpoint_url=self._endpoint_url, config=self._config
                )
            return self._client

    async def open(self) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                self._max_connections, thread_name_prefix="lambda-invoke"
            )
        await asyncio.get_running_loop().run_in_executor(self._executor, self._lambda)

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _invoke(self, request: TransportRequest) -> tuple[int, dict[str, str], bytes]:
        request_id = request.headers.get(REQUEST_ID_HEADER)
        custom = {"request_id": request_id} if request_id else {}
        context = base64.b64encode(json.dumps({"custom": custom}).encode()).decode()
        answer = self._lambda().invoke(
            FunctionName=self._function_name,
            InvocationType="RequestResponse",
            Payload=request.body,
            ClientContext=context,
        )
        payload = answer["Payload"].read()  # at most 6 MB: Lambda's own limit
        failed = answer.get("FunctionError")  # absent when the function answered
        return answer["StatusCode"], {FUNCTION_ERROR_HEADER: failed} if failed else {}, payload

    @staticmethod
    def _answer(invoked: tuple[int, dict[str, str], bytes], body: BodyReader) -> TransportResponse:
        status, headers, payload = invoked
        body.begin(status, len(payload))
        body.feed(payload)
        return TransportResponse(status, headers, body.body())

    def handle_request(self, request: TransportRequest, body: BodyReader) -> TransportResponse:
        with _ERRORS:
            return self._answer(self._invoke(request), body)

    async def handle_async_request(
        self, request: TransportRequest, body: BodyReader
    ) -> TransportResponse:
        if self._executor is None:
            raise RuntimeError("the transport is not open: use `async with` or `await open()`")
        loop = asyncio.get_running_loop()
        with _ERRORS:
            invoked = await asyncio.wait_for(
                loop.run_in_executor(self._executor, self._invoke, request), request.timeout
            )
        return self._answer(invoked, body)
