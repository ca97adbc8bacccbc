"""The transport interface: what the client's protocol needs from a way of calling upstream.

Model: httpx's ``_transports/base.py``. A transport knows *where* it calls (a base URL,
a function name) and *how* (aiohttp, urllib3, boto3 ``Invoke``); the client's protocol
(``_protocol.py``) knows *what* it sends and how it reads the answer. One attempt is:

```
client ─ TransportRequest(path, headers, body, timeout) ─▶ transport
       ◀──────── TransportResponse(status, headers, content_length, chunks) ─
```

The transport bounds the whole exchange, body included, by ``timeout`` seconds, and
translates its library's exceptions into this package's errors through one
``ErrorTable`` (model: httpx's ``map_httpcore_exceptions``), so no aiohttp, urllib3 or
botocore exception leaves it. A new way of calling upstream is a new file, not a branch
in the client.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from query_http_client._exceptions import (
    UpstreamBadResponseError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)

__all__ = [
    "AsyncTransport",
    "ErrorTable",
    "SyncTransport",
    "TransportRequest",
    "TransportResponse",
    "cut_off",
    "timed_out",
    "unreachable",
    "unusable",
]


@dataclass(frozen=True, slots=True)
class TransportRequest:
    """One attempt: ``POST {where the transport calls}{path}`` with these headers and body."""

    path: str
    headers: Mapping[str, str]
    body: bytes
    #: Seconds the whole attempt may take, the answer's body included.
    timeout: float


@dataclass(frozen=True, slots=True)
class TransportResponse[Chunks]:
    """The answer's status line and headers; the body arrives through ``chunks``."""

    status: int
    headers: Mapping[str, str]
    #: The body's declared length (Content-Length), or None when unknown.
    content_length: int | None
    chunks: Chunks


type AsyncResponse = TransportResponse[AsyncIterator[bytes]]
type SyncResponse = TransportResponse[Iterator[bytes]]


class AsyncTransport(Protocol):
    """What ``AsyncQueryClient`` calls through."""

    async def open(self) -> None:
        """Make the pool (needs the running event loop); idempotent."""
        ...

    async def aclose(self) -> None:
        """Release the pool; idempotent."""
        ...

    def handle_async_request(
        self, request: TransportRequest
    ) -> AbstractAsyncContextManager[AsyncResponse]:
        """``async with transport.handle_async_request(r) as response:`` read ``response.chunks``.

        Leaving the block releases the connection; failures inside it, reading the body
        included, come out as this package's errors.
        """
        ...


class SyncTransport(Protocol):
    """What ``QueryClient`` calls through."""

    def close(self) -> None:
        """Release the pool; idempotent."""
        ...

    def handle_request(self, request: TransportRequest) -> AbstractContextManager[SyncResponse]:
        """The blocking twin of ``AsyncTransport.handle_async_request``."""
        ...


#: How one kind of library failure becomes this package's error: (target, exception) -> error.
type Translation = Callable[[str, BaseException], UpstreamError]


def timed_out(target: str, exc: BaseException) -> UpstreamError:
    return UpstreamTimeoutError(f"{target} did not answer in time ({type(exc).__name__})")


def unreachable(target: str, exc: BaseException) -> UpstreamError:
    return UpstreamUnavailableError(f"{target} is unreachable: {exc}")


def cut_off(target: str, exc: BaseException) -> UpstreamError:
    return UpstreamBadResponseError(f"{target}'s answer was cut off: {exc}", retryable=True)


def unusable(target: str, exc: BaseException) -> UpstreamError:
    return UpstreamBadResponseError(f"{target}'s answer is unusable: {exc}")


class ErrorTable:
    """One transport's translation table: library exception type -> this package's error.

    Rows are tried in order and the first whose type matches wins, so put the specific
    types first (as ``except`` clauses would be). An exception no row matches (this
    package's own errors, a bug) passes through unchanged.
    """

    def __init__(self, target: str, rows: Mapping[type[BaseException], Translation]) -> None:
        self.target = target
        self._rows = tuple(rows.items())

    def translate(self, exc: BaseException) -> UpstreamError | None:
        """The error ``exc`` stands for, or None when no row matches."""
        for kind, translation in self._rows:
            if isinstance(exc, kind):
                return translation(self.target, exc)
        return None

    @contextlib.contextmanager
    def mapping(self) -> Iterator[None]:
        """``with table.mapping(): ...``: raise the translated error ``from`` the original."""
        try:
            yield
        except Exception as exc:
            error = self.translate(exc)
            if error is None:
                raise
            raise error from exc
