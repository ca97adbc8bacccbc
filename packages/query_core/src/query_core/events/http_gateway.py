"""HTTP API (payload 2.0) events: ``version: "2.0"``, ``rawPath``, ``requestContext.http``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from query_core.events._request import LambdaRequest, list_field, lower_headers, mapping_field

__all__ = ["decode", "infer"]


def infer(event: Any) -> bool:
    """Whether ``event`` is an HTTP API payload 2.0 event."""
    return isinstance(event, Mapping) and event.get("version") == "2.0" and "rawPath" in event


def decode(event: Mapping[str, Any]) -> LambdaRequest:
    """Decode an HTTP API event; a named stage's prefix is removed from ``rawPath``.

    A field of the wrong type (only a direct invocation can send one) is
    ``UnsupportedEventError``.
    """
    context = mapping_field(event, "requestContext")
    http = mapping_field(context, "http")
    path = str(event.get("rawPath") or http.get("path") or "/")
    stage = context.get("stage")
    if (
        isinstance(stage, str)
        and stage not in ("", "$default")
        and (path == f"/{stage}" or path.startswith(f"/{stage}/"))
    ):
        path = path[len(stage) + 1 :] or "/"
    headers = lower_headers(mapping_field(event, "headers"))
    if cookies := list_field(event.get("cookies")):
        headers["cookie"] = "; ".join(str(cookie) for cookie in cookies)
    return LambdaRequest(
        source="http_v2",
        method=str(http.get("method", "GET")).upper(),
        path=path,
        raw_body=event.get("body"),
        is_base64=bool(event.get("isBase64Encoded")),
        headers=headers,
        query=tuple(parse_qsl(str(event.get("rawQueryString") or ""), keep_blank_values=True)),
        request_id=context.get("requestId"),
    )
