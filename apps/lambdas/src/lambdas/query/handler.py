"""The Query Lambda's entry point: ``lambdas.query.handler.handler``.

Takes the external API Gateway's REST proxy event and forwards it to the query
service at ``EKS_HANDLER_URL`` (``_forward``), returning the service's answer
(docs/contract.md#public-api). Glue only: the request id, the error answers and the
public paths are ``query_core``'s.

It loads no pydantic (docs/decisions/0004-query-lambda-without-pydantic.md); the
connection pool lives for the container, so warm invocations reuse connections.
"""

from __future__ import annotations

import logging
from typing import Any

from query_core import FOREIGN_EVENT_DETAIL, ForbiddenError, configure_json_logging
from query_core.events import EventSource, LambdaContext, LambdaHandler, LambdaRequest

from lambdas._startup import starting
from lambdas.query._forward import forward, get_pool
from lambdas.query._proof import get_proof_keys
from lambdas.query._settings import get_settings

__all__ = ["get_pool", "handler"]


def _dispatch(request: LambdaRequest, request_id: str, context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    # Only its own API's events: a hand-made event (a direct Invoke, its authorizer context
    # naming anyone) is refused before anything is read (docs/contract.md#side-doors).
    expected = settings.public_api_id
    if expected is not None and request.request_context.get("apiId") != expected:
        raise ForbiddenError(FOREIGN_EVENT_DETAIL)
    return forward(request, request_id, context, settings)


_log = logging.getLogger("lambdas.query")


def _sources() -> tuple[EventSource, ...]:
    return tuple(s for s in ("rest_v1", "http_v2") if s in get_settings().event_sources)


#: Only API Gateway calls this function, with the event shape EVENT_SOURCES names: a direct
#: invocation, or an HTTP API event where the REST API is deployed, is an unsupported event.
handler = LambdaHandler(_dispatch, logger=_log, sources=_sources)

with starting(_log):  # at init: a wrong setting or an unreadable secret is one line and exit 1
    configure_json_logging(get_settings().log_level)
    get_proof_keys()
