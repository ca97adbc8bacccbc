"""The core of the query service: models, errors, page tokens, HTTP rules, JSON logs.

The DynamoDB repository lives in ``query_core.dynamodb`` (extra ``dynamodb``) and the
Lambda event codecs in ``query_core.events``. Importing this package imports neither
boto3 nor pydantic: the models (``QueryRequest``, ``QueryResponse``, ``ResultItem``,
``parse_query_request``) load on first use, so that a Lambda that only forwards HTTP
(the Query Lambda) does not pay for pydantic at cold start
(docs/decisions/0004-query-lambda-without-pydantic.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from query_core._answers import ERROR_STATUSES, error_answer
from query_core._caller_proof import (
    CALLER_PROOF_HEADER,
    DEFAULT_CALLER_PROOF_SKEW_SECONDS,
    MIN_CALLER_PROOF_KEY_CHARS,
    CallerProofKeys,
)
from query_core._exceptions import (
    FOREIGN_EVENT_DETAIL,
    INTERNAL_ERROR_DETAIL,
    BadGatewayError,
    BadRequestError,
    DependencyError,
    ForbiddenError,
    GatewayTimeoutError,
    HTTPError,
    InvalidBodyError,
    InvalidNextTokenError,
    InvalidQueryError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    QueryCoreError,
    RepositoryError,
    RepositoryThrottledError,
    RepositoryUnavailableError,
    RequestError,
    RequestValidationError,
    RetiredPathError,
    ServiceUnavailableError,
    TooManyRequestsError,
    UnauthorizedError,
    UnsupportedEventError,
    UnsupportedMediaTypeError,
)
from query_core._http import (
    CALLER_ID_HEADER,
    MAX_BODY_BYTES,
    REQUEST_ID_HEADER,
    RESULT_PATH,
    RETIRED_MARKETING_DETAIL,
    RETIRED_PATH,
    clean_caller_id,
    clean_request_id,
    is_json_media_type,
    is_public_path,
    is_retired_path,
    resolve_request_id,
)
from query_core._logging import JsonFormatter, configure_json_logging, request_id_var
from query_core._openapi import openapi_responses
from query_core._public_errors import public_error_body, public_error_detail
from query_core._routing import check_route
from query_core._token_refresh import DEFAULT_KEYS_TTL_SECONDS, RefreshingTokenKeys
from query_core._tokens import (
    DEFAULT_TOKEN_KEY,
    DEFAULT_TOKEN_KEYS,
    MIN_SECRET_KEY_CHARS,
    PageTokenCodec,
    TokenKey,
    TokenKeys,
)

if TYPE_CHECKING:
    from query_core._models import (
        DEFAULT_LIMIT,
        MAX_LIMIT,
        QueryRequest,
        QueryResponse,
        ResultItem,
        parse_query_request,
    )

__all__ = [
    "CALLER_ID_HEADER",
    "CALLER_PROOF_HEADER",
    "DEFAULT_CALLER_PROOF_SKEW_SECONDS",
    "DEFAULT_KEYS_TTL_SECONDS",
    "DEFAULT_LIMIT",
    "DEFAULT_TOKEN_KEY",
    "DEFAULT_TOKEN_KEYS",
    "ERROR_STATUSES",
    "FOREIGN_EVENT_DETAIL",
    "INTERNAL_ERROR_DETAIL",
    "MAX_BODY_BYTES",
    "MAX_LIMIT",
    "MIN_CALLER_PROOF_KEY_CHARS",
    "MIN_SECRET_KEY_CHARS",
    "REQUEST_ID_HEADER",
    "RESULT_PATH",
    "RETIRED_MARKETING_DETAIL",
    "RETIRED_PATH",
    "BadGatewayError",
    "BadRequestError",
    "CallerProofKeys",
    "DependencyError",
    "ForbiddenError",
    "GatewayTimeoutError",
    "HTTPError",
    "InvalidBodyError",
    "InvalidNextTokenError",
    "InvalidQueryError",
    "JsonFormatter",
    "MethodNotAllowedError",
    "NotFoundError",
    "PageTokenCodec",
    "PayloadTooLargeError",
    "QueryCoreError",
    "QueryRequest",
    "QueryResponse",
    "RefreshingTokenKeys",
    "RepositoryError",
    "RepositoryThrottledError",
    "RepositoryUnavailableError",
    "RequestError",
    "RequestValidationError",
    "ResultItem",
    "RetiredPathError",
    "ServiceUnavailableError",
    "TokenKey",
    "TokenKeys",
    "TooManyRequestsError",
    "UnauthorizedError",
    "UnsupportedEventError",
    "UnsupportedMediaTypeError",
    "check_route",
    "clean_caller_id",
    "clean_request_id",
    "configure_json_logging",
    "error_answer",
    "is_json_media_type",
    "is_public_path",
    "is_retired_path",
    "openapi_responses",
    "parse_query_request",
    "public_error_body",
    "public_error_detail",
    "request_id_var",
    "resolve_request_id",
]

_LAZY = dict.fromkeys(
    (
        "DEFAULT_LIMIT",
        "MAX_LIMIT",
        "MIN_SECRET_KEY_CHARS",
        "QueryRequest",
        "QueryResponse",
        "ResultItem",
        "parse_query_request",
    ),
    "query_core._models",
)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'query_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
