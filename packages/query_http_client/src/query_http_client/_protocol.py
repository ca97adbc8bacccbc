"""What both clients share: the request they send and how they read the answer (CONTRACT 3)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, Protocol

import pydantic
from query_core import REQUEST_ID_HEADER, RESULT_PATH, QueryRequest, QueryResponse

from query_http_client._exceptions import (
    UpstreamBadResponseError,
    UpstreamRejectedError,
    UpstreamThrottledError,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_RESPONSE_BYTES",
    "RequestSigner",
    "encode_request",
    "parse_response",
    "request_headers",
    "result_url",
]

#: Seconds a call may take by default: well under API Gateway's 29 s integration limit.
DEFAULT_TIMEOUT: Final = 10.0
#: The largest answer read: a Lambda proxy response is at most 6 MB.
MAX_RESPONSE_BYTES: Final = 8 * 1024 * 1024
_USER_AGENT: Final = "query-http-client/0.1"


class RequestSigner(Protocol):
    """Adds authentication headers (e.g. SigV4) to a request about to be sent."""

    def __call__(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> Mapping[str, str]:
        """The headers to send: ``headers`` plus the signature's."""
        ...


def result_url(base_url: str) -> str:
    """``{INTERNAL_API_URL}/query/result``: the base URL keeps its stage path."""
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"the internal API URL must be http(s)://..., not {base_url!r}")
    return base_url.rstrip("/") + RESULT_PATH


def encode_request(request: QueryRequest) -> bytes:
    """The JSON body: the same payload the legacy direct invocation sent."""
    return request.model_dump_json(exclude_none=True).encode()


def request_headers(request_id: str | None) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": _USER_AGENT,
    }
    if request_id:
        headers[REQUEST_ID_HEADER] = request_id
    return headers


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _detail(body: bytes) -> Any:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if isinstance(parsed, dict):
        return parsed.get("detail", parsed.get("message"))
    return None


def parse_response(status: int, headers: Mapping[str, str], body: bytes) -> QueryResponse:
    """Read the API's answer: a page, or the error it stands for.

    A body that is still a Lambda proxy envelope (``{"statusCode", "body"}``, from a
    non-proxy integration or the legacy invoke path) is unwrapped first.
    """
    if status == 200:
        try:
            return QueryResponse.model_validate_json(body)
        except pydantic.ValidationError as exc:
            envelope = _envelope(body)
            if envelope is None:
                raise UpstreamBadResponseError(
                    "the internal API answered 200 with a body that is not a page",
                    status_code=status,
                ) from exc
            inner_status, inner_headers, inner_body = envelope
            return parse_response(inner_status, {**headers, **inner_headers}, inner_body)
    if status == 429:
        raise UpstreamThrottledError(
            "the internal API is throttling", retry_after=_retry_after(headers)
        )
    if 400 <= status < 500:
        detail = _detail(body)
        if detail is None:
            raise UpstreamBadResponseError(
                f"the internal API answered {status} without a detail", status_code=status
            )
        raise UpstreamRejectedError(status, detail)
    raise UpstreamBadResponseError(f"the internal API answered {status}", status_code=status)


def _envelope(body: bytes) -> tuple[int, dict[str, str], bytes] | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if (
        not isinstance(parsed, dict)
        or not isinstance(parsed.get("statusCode"), int)
        or not isinstance(parsed.get("body"), str)
    ):
        return None
    headers = parsed.get("headers")
    if not isinstance(headers, dict):
        headers = {}
    return (
        parsed["statusCode"],
        {str(k): str(v) for k, v in headers.items()},
        parsed["body"].encode(),
    )
