"""What both HTTP transports share: where they post, and how a request is signed."""

from __future__ import annotations

from collections.abc import Mapping

from query_http_client._protocol import RequestSigner, base_url
from query_http_client._transports.base import TransportRequest

__all__ = ["HttpTarget"]


class HttpTarget:
    """``{INTERNAL_API_URL}{path}``, and the headers to send it with (signed when asked)."""

    __slots__ = ("_base", "_signer")

    def __init__(self, base: str, signer: RequestSigner | None) -> None:
        self._base = base_url(base)
        self._signer = signer

    def prepare(self, request: TransportRequest) -> tuple[str, Mapping[str, str]]:
        """The URL and the headers of one attempt: signed per attempt (a signature carries the
        time)."""
        url = self._base + request.path
        if self._signer is None:
            return url, request.headers
        return url, self._signer("POST", url, request.headers, request.body)
