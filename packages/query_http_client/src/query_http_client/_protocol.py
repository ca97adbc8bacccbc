"""The client's protocol, whatever the transport: the request it sends and how it reads the answer.

Encode (``encode_request``), check the answer's size as it arrives (``BodyReader``),
decode it, unwrap a Lambda proxy envelope, and map statuses to this package's errors
(``parse_response``); see docs/contract.md#internal-api.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, Protocol

import pydantic
from pydantic import ConfigDict
from query_core import (
    REQUEST_ID_HEADER,
    QueryRequest,
    QueryResponse,
    ResultItem,
    TooManyRequestsError,
)

from query_http_client._exceptions import (
    UpstreamBadRequestError,
    UpstreamBadResponseError,
    UpstreamError,
    UpstreamMisconfiguredError,
    UpstreamRejectedError,
    UpstreamThrottledError,
    UpstreamTimeoutError,
    UpstreamTooManyRequestsError,
    UpstreamUnavailableError,
    UpstreamValidationError,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "FUNCTION_ERROR_HEADER",
    "LIKELY_CAUSES",
    "MAX_RESPONSE_BYTES",
    "READ_CHUNK_BYTES",
    "THROTTLING_ERROR_TYPES",
    "BodyReader",
    "RequestSigner",
    "base_url",
    "encode_request",
    "error_type",
    "page_json",
    "parse_response",
    "request_headers",
]

#: Seconds a call may take by default: well under API Gateway's 29 s integration limit.
DEFAULT_TIMEOUT: Final = 10.0
#: The largest answer read: Lambda's response limit (6 MB). The Query Result Lambda cuts
#: its pages at 5 MiB of items (``query_core.dynamodb.DEFAULT_MAX_PAGE_BYTES``), so
#: anything larger is not one of its pages.
MAX_RESPONSE_BYTES: Final = 6 * 1024 * 1024
#: The size of one read of a body of unknown length.
READ_CHUNK_BYTES: Final = 64 * 1024
_USER_AGENT: Final = "query-http-client/0.1"


class RequestSigner(Protocol):
    """Adds authentication headers (e.g. SigV4) to a request about to be sent."""

    def __call__(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> Mapping[str, str]:
        """The headers to send: ``headers`` plus the signature's."""
        ...


class BodyReader:
    """Takes an answer's body as a transport pours it in, refusing it over ``MAX_RESPONSE_BYTES``.

    ``begin(status, declared_length)`` refuses a declared length over the cap before
    anything is read; ``feed(chunk)`` refuses a body of unknown length as soon as what
    arrived passes the cap; ``body()`` is what arrived.
    """

    __slots__ = ("_chunks", "_size", "_status")

    def __init__(self) -> None:
        self._status = 0
        self._size = 0
        self._chunks: list[bytes] = []

    def _check(self, size: int) -> None:
        if size > MAX_RESPONSE_BYTES:
            raise UpstreamBadResponseError(
                "the upstream's answer is too large", upstream_status=self._status
            )

    def begin(self, status: int, declared_length: int | None) -> None:
        self._status = status
        self._size = 0
        self._chunks.clear()  # a new attempt starts over
        self._check(declared_length or 0)

    def feed(self, chunk: bytes) -> None:
        self._size += len(chunk)
        self._check(self._size)
        self._chunks.append(chunk)

    def body(self) -> bytes:
        return self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)


def base_url(url: str) -> str:
    """``INTERNAL_API_URL`` without its trailing slash; it keeps its stage path (``/prod``)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"the internal API URL must be http(s)://..., not {url!r}")
    return url.rstrip("/")


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


#: Set by Lambda's Invoke API when the function raised (``Unhandled``) or was killed.
FUNCTION_ERROR_HEADER: Final = "X-Amz-Function-Error"

#: API Gateway's ``x-amzn-ErrorType`` values that mean "slow down".
THROTTLING_ERROR_TYPES: Final = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "LimitExceededException", "THROTTLED"}
)

#: API Gateway's 403 answers, and what an operator should check for each.
LIKELY_CAUSES: Final = {
    "AccessDeniedException": (
        "IAM or the resource policy denied the call: check that the ECS task role may "
        "execute-api:Invoke POST /query/result and that the private API's resource policy "
        "allows that role"
    ),
    "ForbiddenException": (
        "the private API refused the request: check that it arrives through the execute-api "
        "VPC endpoint named in the resource policy (aws:SourceVpce) and that the endpoint has "
        "private DNS enabled"
    ),
    "MissingAuthenticationTokenException": (
        "no such stage or resource: check that INTERNAL_API_URL includes the stage "
        "(e.g. .../prod) and that POST /query/result is deployed to it"
    ),
    "UnrecognizedClientException": (
        "the signature's credentials are unknown: check INTERNAL_API_AUTH=iam and the task role"
    ),
    "InvalidSignatureException": (
        "the request signature was refused: check the region in the signer and the clock"
    ),
    "IncompleteSignatureException": (
        "the request was not signed: check INTERNAL_API_AUTH=iam (the API uses IAM auth)"
    ),
}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return headers.get(name) or headers.get(name.lower())


def error_type(headers: Mapping[str, str]) -> str:
    """API Gateway's ``x-amzn-ErrorType`` without its ``:namespace`` suffix, or ``""``."""
    return (_header(headers, "x-amzn-ErrorType") or "").split(":", 1)[0].strip()


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = _header(headers, "Retry-After")
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
    """Read the upstream's answer: a page, or the error it stands for.

    See docs/contract.md#errors and docs/contract.md#internal-api. A body that is still a
    Lambda proxy envelope (``{"statusCode", "body"}``, from a non-proxy integration or the
    legacy invoke path) is unwrapped first; a Lambda's own error shape (``{"errorMessage",
    "errorType"}``) is a bad response.
    """
    return _read_page(status, headers, body, QueryResponse)[0]


def page_json(status: int, headers: Mapping[str, str], body: bytes) -> bytes:
    """The answer as a page's JSON, for a caller that sends the page on: what
    ``parse_response`` accepts, as bytes.

    When the upstream's page is exactly the contract's (no field it lacks), its own bytes
    are returned, validated but not re-serialized; otherwise the validated page without the
    extra fields.
    """
    try:
        return _read_page(status, headers, body, _ExactPage)[1]
    except UpstreamBadResponseError:  # unusable, or a page with fields the contract lacks
        return _read_page(status, headers, body, QueryResponse)[0].model_dump_json().encode()


class _ExactResultItem(ResultItem):
    model_config = ConfigDict(extra="forbid")


class _ExactPage(QueryResponse):
    """A page with nothing but the contract's fields."""

    model_config = ConfigDict(extra="forbid")
    items: list[_ExactResultItem]  # type: ignore[assignment]  # the same items, exactly


def _read_page[Page: QueryResponse](
    status: int, headers: Mapping[str, str], body: bytes, model: type[Page]
) -> tuple[Page, bytes]:
    """The page and the bytes it was read from (the envelope's body, when enveloped)."""
    if status == 200 and not _header(headers, FUNCTION_ERROR_HEADER):
        try:
            return model.model_validate_json(body), body
        except pydantic.ValidationError as exc:
            envelope = _envelope(body)
            if envelope is None:
                lambda_error = _lambda_error(body)
                message = (
                    f"the Query Result Lambda failed with {lambda_error}"
                    if lambda_error is not None
                    else "the upstream answered 200 with a body that is not a page"
                )
                raise UpstreamBadResponseError(message, upstream_status=status) from exc
            inner_status, inner_headers, inner_body = envelope
            return _read_page(inner_status, {**headers, **inner_headers}, inner_body, model)
    raise _error_for(status, headers, body)


#: The upstream's answers about the request itself; the caller answers the same.
_REJECTIONS: Final[Mapping[int, type[UpstreamRejectedError]]] = {
    400: UpstreamBadRequestError,
    422: UpstreamValidationError,
}


def _error_for(
    status: int, headers: Mapping[str, str], body: bytes
) -> UpstreamError | UpstreamRejectedError:
    """The error a non-page answer stands for."""
    kind = error_type(headers)
    if status == 429 and kind not in THROTTLING_ERROR_TYPES:
        detail = _detail(body)
        if detail in TooManyRequestsError.details:  # the Lambda's: one partition is hot
            return UpstreamTooManyRequestsError(detail, retry_after=_retry_after(headers))
    if _header(headers, FUNCTION_ERROR_HEADER):  # Lambda Invoke: the function raised
        failure = _lambda_error(body) or "an unknown error"
        return UpstreamBadResponseError(
            f"the Query Result Lambda failed with {failure}", upstream_status=status
        )
    if status == 429 or kind in THROTTLING_ERROR_TYPES:
        return UpstreamThrottledError(
            f"the upstream is throttling ({kind or status})",
            upstream_retry_after=_retry_after(headers),
        )
    if status == 403:  # the Query Result Lambda never answers 403: API Gateway did
        return UpstreamMisconfiguredError(
            f"API Gateway refused the call with 403 {kind or '(no error type)'}",
            error_type=kind or "Forbidden",
            likely_cause=LIKELY_CAUSES.get(kind, LIKELY_CAUSES["ForbiddenException"]),
        )
    if status == 502:
        return UpstreamBadResponseError(
            "the upstream answered 502 (bad gateway or a malformed Lambda proxy response)",
            upstream_status=status,
            retryable=True,
        )
    if status == 503:
        return UpstreamUnavailableError(
            "the upstream answered 503",
            upstream_status=status,
            upstream_retry_after=_retry_after(headers),
        )
    if status == 504:
        return UpstreamTimeoutError(
            f"the upstream answered 504 ({kind or 'gateway timeout'})", upstream_status=status
        )
    rejection = _REJECTIONS.get(status)
    detail = _detail(body) if rejection is not None else None
    if rejection is not None and detail is not None:
        return rejection(detail)
    # Another 4xx (404, 405, 413...) means this client called it wrong; a 500 is the
    # Lambda's answer to this request. Neither is retried, nor counted by the breaker.
    return UpstreamBadResponseError(f"the upstream answered {status}", upstream_status=status)


def _lambda_error(body: bytes) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        return str(parsed.get("errorType") or "an unhandled error")
    return None


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
