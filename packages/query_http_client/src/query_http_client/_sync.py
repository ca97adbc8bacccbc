"""``QueryClient``: the blocking client for scripts, on urllib3's connection pool."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Self

import urllib3
from query_core import QueryRequest, QueryResponse

from query_http_client._exceptions import (
    UpstreamBadResponseError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from query_http_client._protocol import (
    DEFAULT_TIMEOUT,
    RequestSigner,
    check_body_size,
    encode_request,
    parse_response,
    request_headers,
    result_url,
)
from query_http_client._resilience import Resilience

__all__ = ["QueryClient"]


class QueryClient:
    """Calls ``POST {base_url}/query/result`` and blocks; thread-safe, pooled."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = 2.0,
        max_connections: int = 10,
        signer: RequestSigner | None = None,
        resilience: Resilience | None = None,
    ) -> None:
        self._url = result_url(base_url)
        self._resilience = resilience
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._signer = signer
        self._pool = urllib3.PoolManager(maxsize=max_connections, retries=False)

    def close(self) -> None:
        """Close pooled connections."""
        self._pool.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def query(self, request: QueryRequest, *, request_id: str | None = None) -> QueryResponse:
        """One page of results; raises only ``QueryClientError`` subclasses.

        Without ``resilience`` it is one attempt bounded by ``timeout``; with it, the
        policy's deadline, retries, budget and breaker apply.
        """
        body = encode_request(request)
        headers = request_headers(request_id)
        if self._resilience is None:
            return self._attempt(body, headers, self._timeout)
        return self._resilience.run_sync(lambda timeout: self._attempt(body, headers, timeout))

    def _attempt(self, body: bytes, headers: dict[str, str], deadline: float) -> QueryResponse:
        if self._signer is not None:  # signed per attempt: the signature carries the time
            headers = dict(self._signer("POST", self._url, headers, body))
        give_up_at = time.monotonic() + deadline
        try:
            response = self._pool.request(
                "POST",
                self._url,
                body=body,
                headers=headers,
                timeout=urllib3.Timeout(
                    total=deadline, connect=min(self._connect_timeout, deadline)
                ),
                preload_content=False,
                redirect=False,
            )
            try:
                raw = _read_until(response, give_up_at)
            finally:
                response.release_conn()
            return parse_response(response.status, response.headers, raw)
        except urllib3.exceptions.NewConnectionError as exc:  # a ConnectTimeoutError subclass
            raise UpstreamUnavailableError(f"the internal API is unreachable: {exc}") from exc
        except (urllib3.exceptions.TimeoutError, TimeoutError, _DeadlinePassedError) as exc:
            raise UpstreamTimeoutError(
                f"the internal API did not answer within {deadline:.3g} s"
            ) from exc
        except urllib3.exceptions.ProtocolError as exc:
            raise UpstreamBadResponseError(
                "the internal API's answer was cut off", retryable=True
            ) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise UpstreamUnavailableError(f"the internal API is unreachable: {exc}") from exc


class _DeadlinePassedError(Exception):
    """The body was still arriving when the deadline passed (a trickling answer)."""


def _read_until(response: urllib3.BaseHTTPResponse, give_up_at: float) -> bytes:
    """The body, read a chunk at a time: urllib3's timeouts bound each read, not the whole."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > give_up_at:
            raise _DeadlinePassedError
        chunk = response.read1(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        check_body_size(size, response.status)
        chunks.append(chunk)
