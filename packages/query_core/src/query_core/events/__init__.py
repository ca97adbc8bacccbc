"""Lambda event codecs, one module per event source (in the manner of mangum's ``handlers``).

``decode_event`` asks each source's ``infer()`` in turn, most specific first, and
decodes the event with the first that recognises it:

* ``api_gateway``: REST API (v1) proxy events, which the private API Gateway sends;
* ``http_gateway``: HTTP API (payload 2.0) events;
* ``direct``: the bare request object of a direct ``Invoke`` (the rollback path).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from query_core._exceptions import UnsupportedEventError
from query_core.events import api_gateway, direct, http_gateway
from query_core.events._request import (
    EventSource,
    LambdaContext,
    LambdaRequest,
    body_bytes,
    error_response,
    lower_headers,
    proxy_response,
)

__all__ = [
    "EventSource",
    "LambdaContext",
    "LambdaRequest",
    "body_bytes",
    "decode_event",
    "error_response",
    "lower_headers",
    "proxy_response",
]


def decode_event(event: Any, *, request_id: str | None = None) -> LambdaRequest:
    """Decode any supported event; ``request_id`` (the Lambda's) fills in when the event has none.

    Raises ``UnsupportedEventError`` for anything that is not a JSON object, and
    ``InvalidBodyError`` for a body flagged base64 that is not.
    """
    if api_gateway.infer(event):
        decoded = api_gateway.decode(event)
    elif http_gateway.infer(event):
        decoded = http_gateway.decode(event)
    elif direct.infer(event):
        return direct.decode(event, request_id=request_id)
    else:
        raise UnsupportedEventError(f"unsupported Lambda event of type {type(event).__name__}")
    if decoded.request_id is None and request_id is not None:
        decoded = replace(decoded, request_id=request_id)
    return decoded
