"""The Query Result Lambda's entry point: ``lambdas.query_result.handler.handler``.

It answers the same output for the same input on every way it is called
(docs/contract.md#internal-api):
a REST proxy event from the private API Gateway, an HTTP API (v2) event, or a direct
invocation whose event is the bare request (the legacy ``invoke_lambda`` rollback path).

Cold start: this module imports no web framework; the boto3 client is created once per
container, on the first invocation.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

from query_core import (
    DEFAULT_TOKEN_KEY,
    MAX_BODY_BYTES,
    REQUEST_ID_HEADER,
    RESULT_PATH,
    RETIRED_MARKETING_DETAIL,
    PayloadTooLargeError,
    RepositoryThrottledError,
    RequestError,
    UnsupportedEventError,
    UnsupportedMediaTypeError,
    clean_request_id,
    configure_json_logging,
    is_json_media_type,
    is_retired_path,
    parse_query_request,
    request_id_var,
)
from query_core.events import (
    LambdaContext,
    LambdaRequest,
    decode_event,
    error_response,
    proxy_response,
)

from lambdas.query_result._settings import QueryResultSettings, get_settings

if TYPE_CHECKING:
    from query_core.dynamodb import ResultsRepository

__all__ = ["get_repository", "handler"]

_log = logging.getLogger("lambdas.query_result")
_repository: ResultsRepository | None = None


def get_repository() -> ResultsRepository:
    """The container's repository and its boto3 client, created on first use."""
    global _repository  # noqa: PLW0603 - one client per Lambda container, by design
    if _repository is None:
        _repository = _create_repository(get_settings())
    return _repository


def _create_repository(settings: QueryResultSettings) -> ResultsRepository:
    import boto3
    from botocore.config import Config
    from query_core.dynamodb import ResultsRepository

    client = boto3.client(
        "dynamodb",
        region_name=settings.aws_region,
        endpoint_url=settings.endpoint_url,
        config=Config(
            connect_timeout=settings.dynamodb_connect_timeout_seconds,
            read_timeout=settings.dynamodb_read_timeout_seconds,
            retries={"mode": "standard", "max_attempts": settings.dynamodb_max_attempts},
            # In production an AWS_ENDPOINT_URL left in the environment must not redirect us.
            ignore_configured_endpoint_urls=settings.environment == "production",  # type: ignore[call-arg]  # botocore has it; its stubs lag
        ),
    )
    secret = settings.next_token_secret
    return ResultsRepository(
        client,
        settings.results_table_name,
        token_key=secret.get_secret_value().encode() if secret else DEFAULT_TOKEN_KEY,
        max_round_trips=settings.filter_max_round_trips,
    )


def _route(request: LambdaRequest, request_id: str) -> dict[str, Any]:
    """Answer one decoded request; raises ``QueryCoreError`` for the error table below."""
    if is_retired_path(request.path):
        return error_response(410, RETIRED_MARKETING_DETAIL, request_id)
    if request.path.rstrip("/") != RESULT_PATH:
        return error_response(404, "Not Found", request_id)
    if request.method != "POST":
        return error_response(405, "Method Not Allowed", request_id, {"Allow": "POST"})
    if not is_json_media_type(request.header("content-type")):
        raise UnsupportedMediaTypeError
    body = request.body  # decoded once (base64 bodies are decoded on every read)
    if body is not None and len(body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError
    query = parse_query_request(body)
    page = get_repository().query(query)
    return proxy_response(200, page, {REQUEST_ID_HEADER: request_id})


def _client_context_request_id(context: LambdaContext) -> str | None:
    """The caller's request id from an ``Invoke``'s ClientContext (the legacy source sends it)."""
    client_context = getattr(context, "client_context", None)
    custom = getattr(client_context, "custom", None)
    if isinstance(custom, dict):
        return clean_request_id(custom.get("request_id"))
    return None


def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point: one page of results, or ``{"detail": ...}`` with a 4xx/5xx status."""
    started = time.perf_counter()
    request_id = (
        _client_context_request_id(context)
        or getattr(context, "aws_request_id", None)
        or str(uuid.uuid4())
    )
    request: LambdaRequest | None = None
    token = request_id_var.set(request_id)
    try:
        try:
            request = decode_event(event, request_id=request_id)
            request_id = request.effective_request_id or request_id
            request_id_var.set(request_id)
            response = _route(request, request_id)
        except RequestError as exc:
            response = error_response(exc.status_code, exc.detail, request_id)
        except UnsupportedEventError:
            response = error_response(400, "unsupported event", request_id)
        except RepositoryThrottledError:
            _log.warning("DynamoDB throttled the read")
            response = error_response(
                503, "results store is busy; retry later", request_id, {"Retry-After": "1"}
            )
        except Exception:
            _log.exception("unexpected failure")
            response = error_response(500, "internal error", request_id)
        _log.info(
            "request handled",
            extra={
                "source": request.source if request else None,
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
