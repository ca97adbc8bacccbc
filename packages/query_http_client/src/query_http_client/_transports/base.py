"""The transport interface: what the client's protocol needs from a way of calling upstream
(docs/decisions/0003-http-client-stack.md; model: httpx's ``_transports/base.py``).

A transport knows *where* it calls and *how*; the protocol (``_protocol.py``) knows *what*
it sends and how it reads the answer. One attempt is:

```
client ── TransportRequest(path, headers, body, timeout), BodyReader ──▶ transport
       ◀───────────────── TransportResponse(status, headers, body) ──────
```

The transport bounds the whole exchange by ``timeout`` seconds, pours the body into the
protocol's ``BodyReader`` (which refuses an answer over the size cap as it arrives), and
translates its library's exceptions through one ``ErrorTable``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from query_http_client._exceptions import (
    UpstreamBadResponseError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from query_http_client._protocol import BodyReader

__all__ = [
    "AsyncTransport",
    "BodyReader",
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


@dataclass(slots=True)
class TransportResponse:
    """The answer: its status, its headers, and its body as the ``BodyReader`` took it."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class AsyncTransport(Protocol):
    """What ``AsyncQueryClient`` calls through."""

    async def open(self) -> None:
        """Make the pool (needs the running event loop); idempotent."""
        ...

    async def aclose(self) -> None:
        """Release the pool; idempotent."""
        ...

    async def handle_async_request(
        self, request: TransportRequest, body: BodyReader
    ) -> TransportResponse:
        """One attempt: send ``request``, pour the answer's body into ``body``.

        Call ``body.begin(status, declared_length)`` when the status line has arrived, then
        ``body.feed(chunk)`` as the body arrives; return ``body.body()`` in the response.
        Failures, reading the body included, come out as this package's errors.
        """
        ...


class SyncTransport(Protocol):
    """What ``QueryClient`` calls through."""

    def close(self) -> None:
        """Release the pool; idempotent."""
        ...

    def handle_request(self, request: TransportRequest, body: BodyReader) -> TransportResponse:
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

    ``with table: ...`` raises, for an exception in the block, the error its row makes,
    ``from`` the original. Rows are tried in order and the first whose type matches wins,
    so put the specific types first (as ``except`` clauses would be). An exception no row
    matches (this package's own errors, a bug) passes through unchanged.
    """

    __slots__ = ("_rows", "target")

    def __init__(self, target: str, rows: Mapping[type[BaseException], Translation]) -> None:
        self.target = target
        self._rows = tuple(rows.items())

    def translate(self, exc: BaseException) -> UpstreamError | None:
        """The error ``exc`` stands for, or None when no row matches."""
        for kind, translation in self._rows:
            if isinstance(exc, kind):
                return translation(self.target, exc)
        return None

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or not isinstance(exc, Exception):
            return  # success, or a cancellation: not ours to translate
        error = self.translate(exc)
        if error is not None:
            raise error from exc
