"""``Urllib3Transport``: the blocking way to the private API (scripts), on urllib3's pool."""

from __future__ import annotations

import time

import urllib3

from query_http_client._protocol import READ_CHUNK_BYTES, BodyReader, RequestSigner
from query_http_client._transports._http import HttpTarget
from query_http_client._transports.base import (
    ErrorTable,
    TransportRequest,
    TransportResponse,
    cut_off,
    timed_out,
    unreachable,
)

__all__ = ["Urllib3Transport"]


class _DeadlinePassedError(TimeoutError):
    """The body was still arriving when the attempt's time was up (a trickling answer)."""


#: urllib3's exceptions, most specific first: its NewConnectionError is a ConnectTimeoutError.
_ERRORS = ErrorTable(
    "the internal API",
    {
        urllib3.exceptions.NewConnectionError: unreachable,
        urllib3.exceptions.TimeoutError: timed_out,
        TimeoutError: timed_out,
        urllib3.exceptions.ProtocolError: cut_off,
        urllib3.exceptions.HTTPError: unreachable,
    },
)


class Urllib3Transport:
    """``POST {base_url}{path}`` over a thread-safe ``urllib3.PoolManager``.

    urllib3's timeouts bound each socket operation, not the whole answer, so the body is
    read a chunk at a time against the attempt's own clock: a trickling body cannot hold
    a call past its timeout.
    """

    def __init__(
        self,
        base: str,
        *,
        connect_timeout: float = 2.0,
        max_connections: int = 10,
        signer: RequestSigner | None = None,
    ) -> None:
        self._target = HttpTarget(base, signer)
        self._connect_timeout = connect_timeout
        self._pool = urllib3.PoolManager(maxsize=max_connections, retries=False)

    def close(self) -> None:
        self._pool.clear()

    def handle_request(self, request: TransportRequest, body: BodyReader) -> TransportResponse:
        url, headers = self._target.prepare(request)
        give_up_at = time.monotonic() + request.timeout
        with _ERRORS:
            response = self._pool.request(
                "POST",
                url,
                body=request.body,
                headers=dict(headers),
                timeout=urllib3.Timeout(
                    total=request.timeout, connect=min(self._connect_timeout, request.timeout)
                ),
                preload_content=False,
                redirect=False,
            )
            try:
                length = response.headers.get("content-length")
                body.begin(response.status, int(length) if length and length.isdigit() else None)
                _read(response, body, give_up_at)
            except BaseException:
                response.close()  # a half-read connection cannot serve another request
                raise
            response.release_conn()
            return TransportResponse(response.status, response.headers, body.body())


def _read(response: urllib3.BaseHTTPResponse, body: BodyReader, give_up_at: float) -> None:
    """The body a chunk at a time: urllib3's timeouts bound each read, not the whole."""
    while chunk := response.read1(READ_CHUNK_BYTES):
        if time.monotonic() > give_up_at:
            raise _DeadlinePassedError
        body.feed(chunk)
