"""A real HTTP/1.1 server on 127.0.0.1 that misbehaves on request, for fault tests.

It speaks just enough HTTP/1.1 (Content-Length bodies, keep-alive) over asyncio
streams in a thread of its own, so a test controls every byte on the wire: a
status and body, a delay before answering, a body that trickles, a connection
reset in the middle of the body, or a connection closed without an answer.
It records every request it reads and every connection it accepts.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from query_devstack._process import Background

__all__ = ["MisbehavingServer", "RecordedRequest", "Reply"]


@dataclass(frozen=True)
class Reply:
    """What the server answers to one request."""

    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    #: Seconds to wait before sending anything.
    delay: float = 0.0
    #: Send the body this many bytes at a time, ``trickle_pause`` seconds apart.
    trickle_bytes: int | None = None
    trickle_pause: float = 0.0
    #: Reset the TCP connection after this many bytes of the body.
    reset_after: int | None = None
    #: Close the connection without answering at all.
    close_without_answer: bool = False


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server read it; ``headers`` has lower-case names."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    connection: int


_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    410: "Gone",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class MisbehavingServer(Background):
    """``with MisbehavingServer(Reply(...)) as server: ... server.url ...``.

    ``reply`` is one ``Reply`` for every request, or a function of the request.
    Assign ``server.reply`` to change it between requests.
    """

    def __init__(self, reply: Reply | Callable[[RecordedRequest], Reply] = Reply()) -> None:
        self.reply = reply
        self.requests: list[RecordedRequest] = []
        self.connections = 0
        self.url = ""
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> None:
        """Serve in a thread of its own; ``url`` and ``port`` are set once it listens."""
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("the misbehaving server did not start")

    def stop(self) -> None:
        """Close every connection and stop serving."""
        if self._loop is not None and not self._loop.is_closed():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await asyncio.sleep(0)
        if self._server is not None:
            await self._server.wait_closed()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            # A connection still in its reply's delay: cancel it, do not leave it pending.
            self._loop.run_until_complete(_cancel_pending())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def _choose(self, request: RecordedRequest) -> Reply:
        return self.reply(request) if callable(self.reply) else self.reply

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.connections += 1
            connection = self.connections
        self._writers.add(writer)
        try:
            while True:
                request = await _read_request(reader, connection)
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                reply = self._choose(request)
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                if reply.close_without_answer:
                    return
                if not await _write_reply(writer, reply):
                    return
                if request.headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._writers.discard(writer)
            if not writer.is_closing():
                writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


async def _cancel_pending() -> None:
    tasks = asyncio.all_tasks() - {asyncio.current_task()}
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _read_request(reader: asyncio.StreamReader, connection: int) -> RecordedRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    body = await reader.readexactly(length) if length else b""
    return RecordedRequest(method, target, headers, body, connection)


async def _write_reply(writer: asyncio.StreamWriter, reply: Reply) -> bool:
    """Send the reply; False when the connection was deliberately broken."""
    head = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}"]
    head += [f"{name}: {value}" for name, value in reply.headers.items()]
    head.append(f"content-length: {len(reply.body)}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    body = reply.body
    if reply.reset_after is not None:
        writer.write(body[: reply.reset_after])
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        return False
    if reply.trickle_bytes:
        for start in range(0, len(body), reply.trickle_bytes):
            writer.write(body[start : start + reply.trickle_bytes])
            await writer.drain()
            await asyncio.sleep(reply.trickle_pause)
    else:
        writer.write(body)
    await writer.drain()
    return True
