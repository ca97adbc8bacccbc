"""``AsyncQueryClient`` and ``QueryClient``: the protocol over a transport, with resilience.

Both do the same per call: encode the request (``_protocol``), run attempts through the
transport under ``Resilience`` (deadline, retries, budget, breaker), have the transport
pour each answer's body into a ``BodyReader`` (the size cap) and parse it into a page or
this package's error. Only the waiting differs: ``await`` against a blocking call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Self

from query_core import RESULT_PATH, QueryRequest, QueryResponse

from query_http_client._protocol import (
    DEFAULT_TIMEOUT,
    BodyReader,
    encode_request,
    page_json,
    parse_response,
    request_headers,
)
from query_http_client._resilience import Resilience
from query_http_client._transports.base import AsyncTransport, SyncTransport, TransportRequest

__all__ = ["AsyncQueryClient", "QueryClient"]


type Parse[T] = Callable[[int, Mapping[str, str], bytes], T]


class _Client[Transport]:
    """What both clients hold: a transport and the resilience of its calls."""

    def __init__(
        self,
        transport: Transport,
        *,
        resilience: Resilience | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.transport = transport
        self.resilience = resilience or Resilience.single_attempt(timeout)

    @staticmethod
    def _outgoing(request: QueryRequest, request_id: str | None) -> tuple[bytes, dict[str, str]]:
        return encode_request(request), request_headers(request_id)


class AsyncQueryClient(_Client[AsyncTransport]):
    """Calls ``POST /query/result`` through an ``AsyncTransport``; one per process.

    ``async with AsyncQueryClient(AiohttpTransport(url)) as client`` (or ``await
    client.open()`` and ``await client.aclose()``, e.g. in a FastAPI lifespan). Without
    ``resilience`` a call is one attempt bounded by ``timeout``.
    """

    async def open(self) -> None:
        await self.transport.open()

    async def aclose(self) -> None:
        await self.transport.aclose()

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
        """One page of results; raises only ``QueryClientError`` subclasses."""
        return await self._query(request, request_id, parse_response)

    async def query_json(self, request: QueryRequest, *, request_id: str | None = None) -> bytes:
        """The same page as JSON, for sending it on (``page_json``: validated, and the
        upstream's own bytes when they are exactly a page); raises as ``query`` does."""
        return await self._query(request, request_id, page_json)

    async def _query[T](self, request: QueryRequest, request_id: str | None, parse: Parse[T]) -> T:
        body, headers = self._outgoing(request, request_id)

        async def attempt(timeout: float) -> T:
            outgoing = TransportRequest(RESULT_PATH, headers, body, timeout)
            answer = await self.transport.handle_async_request(outgoing, BodyReader())
            return parse(answer.status, answer.headers, answer.body)

        return await self.resilience.run_async(attempt)


class QueryClient(_Client[SyncTransport]):
    """Calls ``POST /query/result`` through a ``SyncTransport`` and blocks; thread-safe."""

    def close(self) -> None:
        self.transport.close()

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
        """One page of results; raises only ``QueryClientError`` subclasses."""
        return self._query(request, request_id, parse_response)

    def query_json(self, request: QueryRequest, *, request_id: str | None = None) -> bytes:
        """The same page as JSON, for sending it on; raises as ``query`` does."""
        return self._query(request, request_id, page_json)

    def _query[T](self, request: QueryRequest, request_id: str | None, parse: Parse[T]) -> T:
        body, headers = self._outgoing(request, request_id)

        def attempt(timeout: float) -> T:
            outgoing = TransportRequest(RESULT_PATH, headers, body, timeout)
            answer = self.transport.handle_request(outgoing, BodyReader())
            return parse(answer.status, answer.headers, answer.body)

        return self.resilience.run_sync(attempt)
