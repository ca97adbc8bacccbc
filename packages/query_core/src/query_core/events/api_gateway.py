"""REST API (v1) proxy events: `httpMethod`, `path`, `multiValueHeaders`, `requestContext`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from query_core.events._request import LambdaRequest, list_field, lower_headers, mapping_field

__all__ = ["decode", "infer"]


def infer(event: Any) -> bool:
    """Whether ``event`` is a REST API (or HTTP API payload 1.0) proxy event."""
    return (
        isinstance(event, Mapping)
        and "httpMethod" in event
        and "requestContext" in event
        and event.get("version") != "2.0"
    )


def decode(event: Mapping[str, Any]) -> LambdaRequest:
    """Decode a REST proxy event. ``path`` excludes the stage, as API Gateway sends it.

    A field of the wrong type (only a direct invocation can send one) is
    ``UnsupportedEventError``.
    """
    headers = lower_headers(mapping_field(event, "headers"))
    for name, values in mapping_field(event, "multiValueHeaders").items():
        if values := list_field(values):
            headers[str(name).lower()] = str(values[-1])
    query: list[tuple[str, str]] = []
    multi = mapping_field(event, "multiValueQueryStringParameters")
    if multi:
        query = [(str(k), str(v)) for k, vs in multi.items() for v in list_field(vs)]
    else:
        single = mapping_field(event, "queryStringParameters")
        query = [(str(k), str(v)) for k, v in single.items()]
    context = event.get("requestContext")
    if not isinstance(context, Mapping):
        context = {}
    return LambdaRequest(
        source="rest_v1",
        method=str(event["httpMethod"]).upper(),
        path=str(event.get("path") or "/"),
        raw_body=event.get("body"),
        is_base64=bool(event.get("isBase64Encoded")),
        headers=headers,
        query=tuple(query),
        request_id=context.get("requestId"),
        request_context=context,
    )
