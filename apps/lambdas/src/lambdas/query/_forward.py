"""The Query Lambda's one job: forward a public request to the query service (urllib3).

Only the contract's paths are forwarded (``is_public_path``); anything else is 404
here, so the service's ``/health``, ``/docs`` and ``/openapi.json`` are never public.
Method, path, query string, body and a few headers go to ``EKS_HANDLER_URL`` (or, for a
page whose token the other side issued, to that side: ``_target``), with
``X-Caller-Id`` set from the authorizer's context only (``caller_identity``) and, with
keys, its ``X-Caller-Proof`` (``_proof``, docs/contract.md#caller-proof); the
service's status, body and a few headers come back, except that an error answer's
``detail`` is passed on only when it is the contract's own (``public_error_body``), and
a 401 (the service refused this function's proof: the keys are out of step) is the
contract's 502, never an answer that blames the client.
urllib3's exceptions become the error tree's through one table (``_TRANSLATIONS``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlencode

import urllib3
from query_core import (
    CALLER_ID_HEADER,
    CALLER_PROOF_HEADER,
    REQUEST_ID_HEADER,
    BadGatewayError,
    GatewayTimeoutError,
    HTTPError,
    NotFoundError,
    is_public_path,
    public_error_body,
)
from query_core.events import LambdaContext, LambdaRequest, caller_identity

from lambdas.query._proof import get_proof_keys
from lambdas.query._settings import QueryLambdaSettings
from lambdas.query._target import target_url

__all__ = ["forward", "get_pool"]

#: Request headers passed to the service; everything else (a client's own ``X-Caller-Id`` and
#: ``X-Caller-Proof`` too) stays at the edge.
FORWARDED_REQUEST_HEADERS: Final = ("content-type", "accept", "accept-language", "user-agent")
#: Response headers passed back to the client.
RETURNED_RESPONSE_HEADERS: Final = ("content-type", "retry-after", "allow")
#: The service's answer to a missing or bad caller proof (docs/contract.md#caller-proof).
_UNAUTHORIZED: Final = 401
#: Time kept back from the Lambda's own limit to answer before it is cut off.
_MARGIN_SECONDS: Final = 0.5

#: urllib3's exceptions, most specific first, to the error each is answered with.
#: (A refused connection is a ``NewConnectionError``, a kind of ``ConnectTimeoutError``.)
_TRANSLATIONS: Final[tuple[tuple[type[Exception], Callable[[], HTTPError]], ...]] = (
    (
        urllib3.exceptions.ConnectTimeoutError,
        lambda: BadGatewayError("the query service is unreachable"),
    ),
    (
        urllib3.exceptions.TimeoutError,
        lambda: GatewayTimeoutError("the query service did not answer in time"),
    ),
    (urllib3.exceptions.HTTPError, lambda: BadGatewayError("the query service is unreachable")),
)

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


def _translate(exc: urllib3.exceptions.HTTPError) -> HTTPError:
    for exc_type, error in _TRANSLATIONS:
        if isinstance(exc, exc_type):
            return error()
    raise AssertionError("urllib3.exceptions.HTTPError is the last row")  # pragma: no cover


def _sendable(value: str) -> str | None:
    """A header value as http.client can send it, or None when it cannot be sent at all.

    http.client writes header values as Latin-1 and refuses line breaks; API Gateway hands
    the Lambda text, which may hold any character (``User-Agent: curl/€``). A value
    Latin-1 cannot carry goes on as its UTF-8 bytes instead of failing the request with a
    500; a value with a control character is not forwarded.
    """
    if any((char < " " and char != "\t") or char == "\x7f" for char in value):
        return None
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("latin-1")
    return value


def forward(
    request: LambdaRequest,
    request_id: str,
    context: LambdaContext,
    settings: QueryLambdaSettings,
) -> dict[str, Any]:
    """The service's answer to ``request`` as a proxy response; raises the tree's errors."""
    if not is_public_path(request.path):
        raise NotFoundError
    url = target_url(request, settings) + request.path
    if request.query:
        url += "?" + urlencode(request.query)
    headers = {
        name: value
        for name in FORWARDED_REQUEST_HEADERS
        if name in request.headers and (value := _sendable(request.headers[name])) is not None
    }
    headers[REQUEST_ID_HEADER] = request_id
    caller = caller_identity(request, settings.owner_claim)
    if caller is not None:  # only from the authorizer: a client's own X-Caller-Id is never sent
        headers[CALLER_ID_HEADER] = caller
        keys = get_proof_keys().keys()
        if keys is not None:
            headers[CALLER_PROOF_HEADER] = keys.sign(caller, request_id, time.time())
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
    except urllib3.exceptions.HTTPError as exc:
        _log.warning("forwarding failed: %s", exc, extra={"url": url, "deadline_s": deadline})
        raise _translate(exc) from exc
    body = response.data
    if response.status == _UNAUTHORIZED:
        _log.error("the query service refused the caller proof: are the keys out of step?")
        raise BadGatewayError("the query service answered something unusable")
    if response.status >= 400:
        body = public_error_body(response.status, body)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadGatewayError("the query service answered something unusable") from None
    returned = {
        name: response.headers[name]
        for name in RETURNED_RESPONSE_HEADERS
        if name in response.headers
    }
    return {
        "statusCode": response.status,
        "headers": returned,
        "body": text,
        "isBase64Encoded": False,
    }
