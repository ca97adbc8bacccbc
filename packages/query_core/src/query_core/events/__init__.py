"""Lambda events: codecs, one module per event source (in the manner of mangum's ``handlers``),
and the one handler skeleton both Lambdas use.

``decode_event`` asks each source's ``infer()`` in turn, most specific first, and
decodes the event with the first that recognises it:

* ``api_gateway``: REST API (v1) proxy events, which both API Gateways send;
* ``http_gateway``: HTTP API (payload 2.0) events;
* ``direct``: the bare request object of a direct ``Invoke`` (the rollback path).

``rest_proxy_event`` builds a REST proxy event as the public API sends it, with a given
caller, for the tools that check the Query Lambda with a test identity.

``LambdaHandler`` wraps a function's own ``dispatch`` in decode → request id → logging
context → dispatch → error answer.
"""

from __future__ import annotations

from query_core.events._build import rest_proxy_event
from query_core.events._caller import caller_identity
from query_core.events._decode import decode_event
from query_core.events._handler import Dispatch, LambdaHandler, read_query_request
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
    "Dispatch",
    "EventSource",
    "LambdaContext",
    "LambdaHandler",
    "LambdaRequest",
    "body_bytes",
    "caller_identity",
    "decode_event",
    "error_response",
    "lower_headers",
    "proxy_response",
    "read_query_request",
    "rest_proxy_event",
]
