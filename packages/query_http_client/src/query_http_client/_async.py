"""``AsyncQueryClient``: aiohttp, one pooled session per process."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import aiohttp
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

__all__ = ["AsyncQueryClient"]


class AsyncQueryClient:
    """Calls ``POST {base_url}/query/result``; open it once per process.

    ``async with AsyncQueryClient(url) as client`` (or ``await client.open()`` and
    ``await client.aclose()``, e.g. in a FastAPI lifespan). Connections are pooled
    (``max_connections``) and kept alive between calls.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = 2.0,
        max_connections: int = 100,
        signer: RequestSigner | None = None,
        resilience: Resilience | None = None,
    ) -> None:
        self._url = result_url(base_url)
        self._resilience = resilience
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._max_connections = max_connections
        self._signer = signer
        self._session: aiohttp.ClientSession | None = None
        self._default_timeout = self._client_timeout(timeout)

    def _client_timeout(self, deadline: float) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=deadline, connect=min(self._connect_timeout, deadline))

    async def open(self) -> None:
        """Create the connection pool; needs a running event loop."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, keepalive_timeout=30, ttl_dns_cache=60
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._default_timeout,
                skip_auto_headers=("User-Agent",),
                raise_for_status=False,
            )

    async def aclose(self) -> None:
        """Close the pool (idempotent)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def query(self, request: QueryRequest, *, request_id: str | None = None) -> QueryResponse:
        """One page of results; raises only ``QueryClientError`` subclasses.

        Without ``resilience`` it is one attempt bounded by ``timeout``; with it, the
        policy's deadline, retries, budget and breaker apply.
        """
        if self._session is None:
            raise RuntimeError("AsyncQueryClient is not open: use `async with` or `await open()`")
        body = encode_request(request)
        headers = request_headers(request_id)
        if self._resilience is None:
            return await self._attempt(body, headers, None)
        return await self._resilience.run_async(
            lambda timeout: self._attempt(body, headers, timeout)
        )

    async def _attempt(
        self, body: bytes, headers: dict[str, str], timeout: float | None
    ) -> QueryResponse:
        """One HTTP call; ``timeout`` None means the session's own."""
        assert self._session is not None  # noqa: S101 - checked by query()
        if self._signer is not None:  # signed per attempt: the signature carries the time
            headers = dict(self._signer("POST", self._url, headers, body))
        deadline = self._timeout if timeout is None else timeout
        client_timeout = (
            self._default_timeout if timeout is None else self._client_timeout(deadline)
        )
        try:
            async with self._session.post(
                self._url, data=body, headers=headers, timeout=client_timeout
            ) as response:
                length = response.content_length
                check_body_size(length, response.status)
                # A declared length within the cap can be read whole; otherwise count chunks.
                raw = await response.read() if length is not None else await _read_capped(response)
                return parse_response(response.status, response.headers, raw)
        except TimeoutError as exc:
            raise UpstreamTimeoutError(
                f"the internal API did not answer within {deadline:.3g} s"
            ) from exc
        except aiohttp.ClientConnectionError as exc:
            raise UpstreamUnavailableError(f"the internal API is unreachable: {exc}") from exc
        except aiohttp.ClientPayloadError as exc:
            raise UpstreamBadResponseError(
                "the internal API's answer was cut off", retryable=True
            ) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamBadResponseError(f"the internal API's answer is unusable: {exc}") from exc


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        check_body_size(size, response.status)
        chunks.append(chunk)
    return b"".join(chunks)
