"""The request every event shape decodes to, and the proxy response every shape answers with."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from query_core._answers import error_answer
from query_core._exceptions import InvalidBodyError, UnsupportedEventError
from query_core._http import REQUEST_ID_HEADER

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "EventSource",
    "LambdaContext",
    "LambdaRequest",
    "body_bytes",
    "error_response",
    "lower_headers",
    "proxy_response",
]

type EventSource = Literal["rest_v1", "http_v2", "direct"]


@dataclass(frozen=True, slots=True)
class LambdaRequest:
    """An HTTP request as carried by a Lambda event, whatever the event's shape.

    ``headers`` has lower-case names; ``query`` keeps repeated parameters in order.
    For a direct invocation the bare event is the body (as JSON) of a
    ``POST /query/result``. The body is decoded from base64 only when read, so that
    a request with a broken body still has its headers (and its request id).
    """

    source: EventSource
    method: str
    path: str
    raw_body: str | bytes | None = None
    is_base64: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    query: tuple[tuple[str, str], ...] = ()
    #: API Gateway's own id of the request (``requestContext.requestId``), if any.
    request_id: str | None = None
    #: API Gateway's ``requestContext`` as it came (the authorizer's context is in it).
    request_context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def body(self) -> bytes | None:
        """The body's bytes; ``InvalidBodyError`` when it is flagged base64 but is not."""
        return body_bytes(self.raw_body, is_base64=self.is_base64)

    def header(self, name: str) -> str | None:
        """A header's value by case-insensitive name."""
        return self.headers.get(name.lower())


def mapping_field(event: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``event[key]`` when it is an object, ``{}`` when absent or null.

    Anything else is not an event API Gateway sends (only a direct invocation can make
    one): ``UnsupportedEventError`` (400), not a 500 further on.
    """
    value = event.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UnsupportedEventError
    return value


def list_field(value: Any) -> list[Any]:
    """A list of an event (multi-value headers and parameters, cookies); else as above."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise UnsupportedEventError
    return value


def lower_headers(headers: Mapping[str, Any] | None) -> dict[str, str]:
    """Header names lower-cased; ``None`` values (API Gateway sends them) dropped."""
    if not headers:
        return {}
    return {str(name).lower(): str(value) for name, value in headers.items() if value is not None}


def body_bytes(body: Any, *, is_base64: bool) -> bytes | None:
    """The raw body of a proxy event: ``None`` when absent, base64 decoded when flagged."""
    if body is None:
        return None
    if isinstance(body, bytes):
        return body
    if not isinstance(body, str):
        raise InvalidBodyError("request body must be text")
    if not is_base64:
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidBodyError("request body is flagged base64 but is not valid base64") from exc


def error_response(exc: BaseException, request_id: str) -> dict[str, Any]:
    """The proxy response of an exception (``query_core.error_answer``), echoing the request id."""
    status, headers, body = error_answer(exc)
    return proxy_response(status, body, {**headers, REQUEST_ID_HEADER: request_id})


def proxy_response(
    status_code: int,
    body: BaseModel | Mapping[str, Any] | list[Any] | str | None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A Lambda proxy response, ``{"statusCode", "headers", "body"}``, with a JSON body.

    The same shape answers REST v1 and HTTP API v2 events and direct invocations
    (the legacy ``invoke_lambda`` caller read ``body`` from this envelope).
    """
    dump_json = getattr(body, "model_dump_json", None)  # a pydantic model, not imported here
    if dump_json is not None:
        text = str(dump_json())
    elif isinstance(body, str):
        text = body
    else:
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    all_headers = {"content-type": "application/json"}
    if headers:
        all_headers.update({name.lower(): value for name, value in headers.items()})
    return {
        "statusCode": status_code,
        "headers": all_headers,
        "body": text,
        "isBase64Encoded": False,
    }


class LambdaContext(Protocol):
    """The parts of the Lambda context object the handlers use (no SDK stubs needed)."""

    @property
    def aws_request_id(self) -> str: ...

    def get_remaining_time_in_millis(self) -> int: ...
