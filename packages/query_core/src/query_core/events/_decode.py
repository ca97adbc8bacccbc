"""``decode_event``: the dispatcher over the event sources' ``infer()``."""

from __future__ import annotations

from typing import Any

from query_core._exceptions import UnsupportedEventError
from query_core.events import api_gateway, direct, http_gateway
from query_core.events._request import LambdaRequest

__all__ = ["decode_event"]


def decode_event(event: Any) -> LambdaRequest:
    """Decode any supported event, asking each source's ``infer()``, most specific first.

    Raises ``UnsupportedEventError`` for anything that is not a JSON object, and
    ``InvalidBodyError`` (when the body is read) for a body flagged base64 that is not.
    """
    if api_gateway.infer(event):
        return api_gateway.decode(event)
    if http_gateway.infer(event):
        return http_gateway.decode(event)
    if direct.infer(event):
        return direct.decode(event)
    raise UnsupportedEventError
