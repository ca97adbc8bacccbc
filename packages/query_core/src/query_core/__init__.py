"""The core of the query service: models, errors, page tokens, JSON logs.

The DynamoDB repository lives in ``query_core.dynamodb`` (extra ``dynamodb``) and
the Lambda event codecs in ``query_core.events``; importing this package imports
neither boto3 nor botocore.
"""

from query_core._exceptions import (
    InvalidBodyError,
    InvalidNextTokenError,
    QueryCoreError,
    RepositoryError,
    RepositoryThrottledError,
    RequestError,
    RequestValidationError,
    UnsupportedEventError,
)
from query_core._http import (
    REQUEST_ID_HEADER,
    RESULT_PATH,
    RETIRED_MARKETING_DETAIL,
    RETIRED_PATH,
    clean_request_id,
    is_json_media_type,
    is_retired_path,
)
from query_core._logging import JsonFormatter, configure_json_logging, request_id_var
from query_core._models import (
    DEFAULT_LIMIT,
    MAX_BODY_BYTES,
    MAX_LIMIT,
    QueryRequest,
    QueryResponse,
    ResultItem,
    parse_query_request,
)
from query_core._tokens import DEFAULT_TOKEN_KEY, PageTokenCodec

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_TOKEN_KEY",
    "MAX_BODY_BYTES",
    "MAX_LIMIT",
    "REQUEST_ID_HEADER",
    "RESULT_PATH",
    "RETIRED_MARKETING_DETAIL",
    "RETIRED_PATH",
    "InvalidBodyError",
    "InvalidNextTokenError",
    "JsonFormatter",
    "PageTokenCodec",
    "QueryCoreError",
    "QueryRequest",
    "QueryResponse",
    "RepositoryError",
    "RepositoryThrottledError",
    "RequestError",
    "RequestValidationError",
    "ResultItem",
    "UnsupportedEventError",
    "clean_request_id",
    "configure_json_logging",
    "is_json_media_type",
    "is_retired_path",
    "parse_query_request",
    "request_id_var",
]
