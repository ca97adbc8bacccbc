"""Where results come from: the ``ResultSource`` protocol and its implementations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from query_core import QueryRequest, QueryResponse
from query_http_client import AsyncQueryClient

if TYPE_CHECKING:
    from ecs_service.settings import ServiceSettings

__all__ = ["InternalApiSource", "ResultSource", "create_source"]


class ResultSource(Protocol):
    """Gives one page of results; raises ``query_http_client`` errors when it fails."""

    async def open(self) -> None: ...

    async def aclose(self) -> None: ...

    async def query(self, request: QueryRequest, *, request_id: str) -> QueryResponse: ...


class InternalApiSource:
    """The default source: ``POST {INTERNAL_API_URL}/query/result`` over a pooled client."""

    def __init__(self, client: AsyncQueryClient) -> None:
        self._client = client

    async def open(self) -> None:
        await self._client.open()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def query(self, request: QueryRequest, *, request_id: str) -> QueryResponse:
        return await self._client.query(request, request_id=request_id)


def create_source(settings: ServiceSettings) -> ResultSource:
    """The source the settings ask for."""
    client = AsyncQueryClient(
        settings.upstream_url,
        timeout=settings.upstream_timeout_seconds,
        connect_timeout=settings.upstream_connect_timeout_seconds,
        max_connections=settings.upstream_max_connections,
    )
    return InternalApiSource(client)
