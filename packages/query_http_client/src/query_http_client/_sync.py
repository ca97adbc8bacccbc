"""``QueryClient``: the blocking client for scripts, on urllib3's connection pool."""

from __future__ import annotations

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
    MAX_RESPONSE_BYTES,
    RequestSigner,
    encode_request,
    parse_response,
    request_headers,
    result_url,
)

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
    ) -> None:
        self._url = result_url(base_url)
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

    def query(
        self,
        request: QueryRequest,
        *,
        request_id: str | None = None,
        timeout: float | None = None,
    ) -> QueryResponse:
        """One page of results; raises only ``QueryClientError`` subclasses."""
        body = encode_request(request)
        headers = request_headers(request_id)
        if self._signer is not None:
            headers = dict(self._signer("POST", self._url, headers, body))
        deadline = self._timeout if timeout is None else timeout
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
                raw = response.read(MAX_RESPONSE_BYTES + 1)
                if len(raw) > MAX_RESPONSE_BYTES:
                    raise UpstreamBadResponseError(
                        "the internal API's answer is too large", status_code=response.status
                    )
            finally:
                response.release_conn()
            return parse_response(response.status, response.headers, raw)
        except (urllib3.exceptions.TimeoutError, TimeoutError) as exc:
            raise UpstreamTimeoutError(
                f"the internal API did not answer within {deadline:g} s"
            ) from exc
        except urllib3.exceptions.ProtocolError as exc:
            raise UpstreamBadResponseError("the internal API's answer was cut off") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise UpstreamUnavailableError(f"the internal API is unreachable: {exc}") from exc
