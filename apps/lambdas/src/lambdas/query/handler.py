"""The Query Lambda's entry point: ``lambdas.query.handler.handler``.

Takes the external API Gateway's REST proxy event and forwards method, path, query
string, body and the allowed headers to the query service at ``EKS_HANDLER_URL``,
then returns the service's status, body and allowed headers unchanged (docs/contract.md#public-api).
``/health`` is the load balancer's, not the public API's: 404 here. The service
unreachable is a 502, too slow a 504, each ``{"detail": ...}``.

Cold start: stdlib, urllib3 and the pydantic-free parts of query_core only. The
connection pool lives for the container, so warm invocations reuse connections.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any, Final
from urllib.parse import urlencode

import urllib3
from query_core import (
    REQUEST_ID_HEADER,
    RequestError,
    UnsupportedEventError,
    configure_json_logging,
    request_id_var,
)
from query_core.events import LambdaContext, LambdaRequest, decode_event, error_response

from lambdas.query._settings import QueryLambdaSettings, get_settings

__all__ = ["get_pool", "handler"]

#: Request headers passed to the service; everything else stays at the edge.
FORWARDED_REQUEST_HEADERS: Final = ("content-type", "accept", "accept-language", "user-agent")
#: Response headers passed back to the client.
RETURNED_RESPONSE_HEADERS: Final = ("content-type", "x-request-id", "retry-after", "allow")
#: Time kept back from the Lambda's own limit to answer before it is cut off.
_MARGIN_SECONDS: Final = 0.5
_NOT_FORWARDED: Final = frozenset({"/health"})

_log = logging.getLogger("lambdas.query")
_pool: urllib3.PoolManager | None = None


def get_pool() -> urllib3.PoolManager:
    """The container's connection pool, created on first use and reused while warm."""
    global _pool  # noqa: PLW0603 - one pool per Lambda container, by design
    if _pool is None:
        _pool = urllib3.PoolManager(num_pools=4, maxsize=4, retries=False)
    return _pool


def _deadline(settings: QueryLambdaSettings, context: LambdaContext) -> float:
    remaining = context.get_remaining_time_in_millis() / 1000 - _MARGIN_SECONDS
    return max(0.1, min(settings.forward_timeout_seconds, remaining))


def _forward(request: LambdaRequest, request_id: str, context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    url = settings.eks_handler_url + request.path
    if request.query:
        url += "?" + urlencode(request.query)
    headers = {
        name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS if name in request.headers
    }
    headers[REQUEST_ID_HEADER] = request_id
    deadline = _deadline(settings, context)
    try:
        response = get_pool().request(
            request.method,
            url,
            body=request.body,
            headers=headers,
            timeout=urllib3.Timeout(
                total=deadline, connect=min(settings.forward_connect_timeout_seconds, deadline)
            ),
            redirect=False,
        )
    except urllib3.exceptions.ConnectTimeoutError:
        _log.warning("the query service is unreachable (connect timeout)", extra={"url": url})
        return error_response(502, "the query service is unreachable", request_id)
    except urllib3.exceptions.TimeoutError:
        _log.warning("the query service did not answer in time", extra={"deadline_s": deadline})
        return error_response(504, "the query service did not answer in time", request_id)
    except urllib3.exceptions.HTTPError as exc:
        _log.warning("the query service is unreachable: %s", exc, extra={"url": url})
        return error_response(502, "the query service is unreachable", request_id)
    returned = {
        name: response.headers[name]
        for name in RETURNED_RESPONSE_HEADERS
        if name in response.headers
    }
    returned[REQUEST_ID_HEADER.lower()] = response.headers.get(REQUEST_ID_HEADER, request_id)
    try:
        text = response.data.decode("utf-8")
    except UnicodeDecodeError:
        _log.warning("the query service answered a body that is not UTF-8")
        return error_response(502, "the query service answered something unusable", request_id)
    return {
        "statusCode": response.status,
        "headers": returned,
        "body": text,
        "isBase64Encoded": False,
    }


def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point: the service's answer, or a 4xx/502/504 ``{"detail": ...}``."""
    started = time.perf_counter()
    request_id = getattr(context, "aws_request_id", None) or str(uuid.uuid4())
    token = request_id_var.set(request_id)
    request: LambdaRequest | None = None
    try:
        try:
            request = decode_event(event, request_id=request_id)
            request_id = request.effective_request_id or request_id
            request_id_var.set(request_id)
            if request.source == "direct":  # only API Gateway calls this function
                response = error_response(400, "unsupported event", request_id)
            elif request.path.rstrip("/") in _NOT_FORWARDED:
                response = error_response(404, "Not Found", request_id)
            else:
                response = _forward(request, request_id, context)
        except RequestError as exc:
            response = error_response(exc.status_code, exc.detail, request_id)
        except UnsupportedEventError:
            response = error_response(400, "unsupported event", request_id)
        except Exception:
            _log.exception("unexpected failure")
            response = error_response(500, "internal error", request_id)
        _log.info(
            "request forwarded",
            extra={
                "method": request.method if request else None,
                "path": request.path if request else None,
                "status": response["statusCode"],
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return response
    finally:
        request_id_var.reset(token)


configure_json_logging(get_settings().log_level)
