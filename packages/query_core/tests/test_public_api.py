import subprocess
import sys

import query_core
import query_core.dynamodb
import query_core.events


def test_top_level_api_is_pinned():
    assert query_core.__all__ == [
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
    assert query_core.__all__ == sorted(query_core.__all__, key=lambda n: (not n.isupper(), n))


def test_submodule_apis_are_pinned():
    assert query_core.events.__all__ == [
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
    assert query_core.dynamodb.__all__ == [
        "DEFAULT_FILTER_READ_SIZE",
        "DEFAULT_MAX_PAGE_BYTES",
        "DEFAULT_MAX_READ_UNITS",
        "DEFAULT_MAX_ROUND_TRIPS",
        "ResultsRepository",
        "from_attribute_value",
        "from_item",
    ]


def test_optional_modules_are_pinned_and_import_without_boto3():
    code = (
        "import sys, query_core.aws, query_core.testing; "
        "print(query_core.aws.__all__, query_core.testing.__all__, 'boto3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("] ") == [
        "['LOCAL_AWS_ENDPOINT', 'create_client', 'endpoint_url_for'",
        "['JsonLogs', 'capture_json_logs'",
        "False\n",
    ]


def test_every_name_in_all_exists():
    for module in (query_core, query_core.events, query_core.dynamodb):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_models_and_codecs_import_without_boto3():
    code = (
        "import sys, query_core, query_core.events; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_error_tree_has_one_root():
    for name in query_core.__all__:
        obj = getattr(query_core, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, query_core.QueryCoreError), name
            assert name.endswith("Error"), name


def test_importing_the_package_and_codecs_does_not_import_pydantic():
    code = (
        "import sys, query_core, query_core.events; "
        "print('pydantic' in sys.modules); "
        "query_core.QueryRequest; print('pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
