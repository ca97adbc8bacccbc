"""``AiohttpTransport``: the service's way to the private API, one pooled session per process."""

from __future__ import annotations

import aiohttp

from query_http_client._protocol import READ_CHUNK_BYTES, BodyReader, RequestSigner
from query_http_client._transports._http import HttpTarget
from query_http_client._transports.base import (
    ErrorTable,
    TransportRequest,
    TransportResponse,
    cut_off,
    timed_out,
    unreachable,
    unusable,
)

__all__ = ["AiohttpTransport"]

#: aiohttp's exceptions, most specific first: its timeouts are also connection errors.
_ERRORS = ErrorTable(
    "the internal API",
    {
        TimeoutError: timed_out,
        aiohttp.ClientConnectionError: unreachable,
        aiohttp.ClientPayloadError: cut_off,
        aiohttp.ClientError: unusable,
    },
)


class AiohttpTransport:
    """``POST {base_url}{path}`` over one pooled ``aiohttp.ClientSession``.

    ``open()`` (in the running event loop, e.g. a FastAPI lifespan) makes the pool of
    ``max_connections`` kept-alive connections; ``aclose()`` closes it. ``signer`` (e.g.
    ``query_http_client.sigv4.SigV4Signer``) signs each attempt: a signature carries the time.
    """

    def __init__(
        self,
        base: str,
        *,
        connect_timeout: float = 2.0,
        max_connections: int = 100,
        signer: RequestSigner | None = None,
    ) -> None:
        self._target = HttpTarget(base, signer)
        self._connect_timeout = connect_timeout
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    async def open(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, keepalive_timeout=30, ttl_dns_cache=60
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                raise_for_status=False,  # our User-Agent replaces aiohttp's
            )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        """The attempt's bound, body included (``total``); cached: most attempts share one."""
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            if len(self._timeouts) > 64:  # attempts cut short by the deadline vary
                self._timeouts.clear()
            timeout = aiohttp.ClientTimeout(
                total=seconds, connect=min(self._connect_timeout, seconds)
            )
            self._timeouts[seconds] = timeout
        return timeout

    async def handle_async_request(
        self, request: TransportRequest, body: BodyReader
    ) -> TransportResponse:
        if self._session is None:
            raise RuntimeError("the transport is not open: use `async with` or `await open()`")
        url, headers = self._target.prepare(request)
        with _ERRORS:
            async with self._session.post(
                url, data=request.body, headers=headers, timeout=self._timeout(request.timeout)
            ) as response:
                declared = response.content_length
                body.begin(response.status, declared)
                if declared is not None:  # within the cap: read whole
                    body.feed(await response.read())
                else:
                    async for chunk in response.content.iter_chunked(READ_CHUNK_BYTES):
                        body.feed(chunk)
                return TransportResponse(response.status, response.headers, body.body())
