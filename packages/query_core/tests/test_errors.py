"""The error tree and its table: every status of docs/contract.md#errors, answered one way."""

import json
import re
import typing
from pathlib import Path

import pytest
import query_core
from query_core import (
    ERROR_STATUSES,
    RETIRED_MARKETING_DETAIL,
    BadGatewayError,
    DependencyError,
    GatewayTimeoutError,
    HTTPError,
    InvalidBodyError,
    InvalidNextTokenError,
    MethodNotAllowedError,
    NotFoundError,
    QueryCoreError,
    RepositoryError,
    RepositoryThrottledError,
    RequestError,
    RequestValidationError,
    RetiredPathError,
    ServiceUnavailableError,
    check_route,
    error_answer,
    openapi_responses,
    public_error_body,
    public_error_detail,
)

UNAVAILABLE = "the results service is unavailable; retry later"
NOT_JSON = "request body is not valid JSON"
THROTTLED = "the results store is busy reading this user's results; retry later"
CONTRACT_STATUSES = [400, 401, 403, 404, 405, 410, 413, 415, 422, 429, 502, 503, 504]


def test_every_status_of_the_contract_has_its_class():
    assert sorted(ERROR_STATUSES) == CONTRACT_STATUSES
    for status, cls in ERROR_STATUSES.items():
        assert cls.status_code == status
        assert issubclass(cls, HTTPError)
        assert issubclass(cls, RequestError if status < 500 else DependencyError)


@pytest.mark.parametrize(
    ("exc", "status", "headers", "detail"),
    [
        (InvalidBodyError(NOT_JSON), 400, {}, NOT_JSON),
        (InvalidNextTokenError("next_token is malformed"), 400, {}, "next_token is malformed"),
        (
            query_core.UnauthorizedError(),
            401,
            {"WWW-Authenticate": "CallerProof"},
            query_core.UnauthorizedError.details[0],
        ),
        (query_core.ForbiddenError(), 403, {}, query_core.ForbiddenError.details[0]),
        (NotFoundError(), 404, {}, "Not Found"),
        (MethodNotAllowedError(("POST",)), 405, {"Allow": "POST"}, "Method Not Allowed"),
        (RetiredPathError(), 410, {}, RETIRED_MARKETING_DETAIL),
        (query_core.PayloadTooLargeError(), 413, {}, "request body is larger than 65536 bytes"),
        (query_core.UnsupportedMediaTypeError(), 415, {}, "Content-Type must be application/json"),
        (BadGatewayError(), 502, {}, "the results service answered something unusable"),
        (ServiceUnavailableError(), 503, {"Retry-After": "1"}, UNAVAILABLE),
        (ServiceUnavailableError(retry_after=7.2), 503, {"Retry-After": "8"}, UNAVAILABLE),
        (ServiceUnavailableError(retry_after=0.01), 503, {"Retry-After": "1"}, UNAVAILABLE),
        (GatewayTimeoutError(), 504, {}, "the results service did not answer in time"),
        (RepositoryThrottledError(), 429, {"Retry-After": "1"}, THROTTLED),
        (query_core.TooManyRequestsError(retry_after=2.5), 429, {"Retry-After": "3"}, THROTTLED),
    ],
)
def test_each_error_answers_its_status_detail_and_headers(exc, status, headers, detail):
    assert error_answer(exc) == (status, headers, {"detail": detail})


def test_validation_errors_answer_fastapis_list():
    errors = [{"loc": ["body", "limit"], "msg": "too big", "type": "less_than_equal"}]
    assert error_answer(RequestValidationError(errors)) == (422, {}, {"detail": errors})
    assert str(RequestValidationError(errors)) == "1 validation error(s)"


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("arn:aws:dynamodb:eu-west-1:123456789012:table/x exploded"),
        RepositoryError("boom"),
        KeyError("k"),
    ],
)
def test_anything_else_is_500_without_its_text(exc):
    assert error_answer(exc) == (500, {}, {"detail": "internal error"})


def test_throttling_is_a_repository_error_and_a_429_not_an_availability_failure():
    exc = RepositoryThrottledError()
    assert isinstance(exc, RepositoryError)
    assert isinstance(exc, query_core.TooManyRequestsError)
    assert not isinstance(exc, DependencyError)  # no hop retries it or counts it in a breaker
    assert isinstance(exc, QueryCoreError)


@pytest.mark.parametrize(
    ("method", "path", "error"),
    [
        ("GET", "/query/marketing", RetiredPathError),
        ("POST", "/query/marketing/", RetiredPathError),
        ("DELETE", "/query/marketing/m-1/results", RetiredPathError),
        ("GET", "/query/result", MethodNotAllowedError),
        ("POST", "/query/results", NotFoundError),
        ("POST", "/query/marketingx", NotFoundError),
        ("GET", "/health", NotFoundError),
    ],
)
def test_routes_of_the_public_api(method, path, error):
    with pytest.raises(error):
        check_route(method, path)


def test_the_result_route_passes():
    check_route("post", "/query/result")


def test_openapi_responses_come_from_the_table():
    responses = openapi_responses()
    assert sorted(responses) == CONTRACT_STATUSES
    assert responses[410]["content"]["application/json"]["example"] == {
        "detail": RETIRED_MARKETING_DETAIL
    }
    assert "Retry-After" in responses[503]["headers"]
    assert "Allow" in responses[405]["headers"]
    assert "headers" not in responses[400]
    detail_schema = responses[422]["content"]["application/json"]["schema"]["properties"]["detail"]
    assert detail_schema["type"] == "array"
    for status, doc in responses.items():
        assert doc["description"] == ERROR_STATUSES[status].description
    assert sorted(openapi_responses([504, 400])) == [400, 504]


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        (400, "next_token is malformed"),
        (400, "request body is not valid JSON"),
        (404, "Not Found"),
        (405, "Method Not Allowed"),
        (410, RETIRED_MARKETING_DETAIL),
        (503, "the results service is failing; retry later"),
        (500, "internal error"),
    ],
)
def test_the_contracts_own_details_pass(status, detail):
    assert public_error_detail(status, detail) == detail
    body = json.dumps({"detail": detail}).encode()
    assert public_error_body(status, body) is body


@pytest.mark.parametrize(
    ("status", "detail", "generic"),
    [
        (400, "ValidationException: arn:aws:dynamodb:... too large", "the request is not valid"),
        (400, ["not", "a", "string"], "the request is not valid"),
        (404, "no route /internal/admin", "Not Found"),
        (403, "User: arn:aws:sts::123:assumed-role/x is not authorized", None),
        (401, "Unauthorized by rule 7", query_core.UnauthorizedError.details[0]),
        (409, {"secret": 1}, "Conflict"),
        (500, "Traceback (most recent call last)", "internal error"),
        (503, "upstream connect error or disconnect/reset before headers", UNAVAILABLE),
        (410, "gone", RETIRED_MARKETING_DETAIL),
        (400, "next_token is malformed ", "the request is not valid"),
    ],
)
def test_other_details_become_the_generic_one(status, detail, generic):
    if generic is None:
        generic = query_core.ForbiddenError.details[0]
    assert public_error_detail(status, detail) == generic
    answer = public_error_body(status, json.dumps({"detail": detail}).encode())
    assert json.loads(answer) == {"detail": generic}


@pytest.mark.parametrize(
    "body",
    [
        b"<html>502 Bad Gateway</html>",
        b"",
        b'{"message": "Internal server error"}',
        b"[1]",
        b'{"detail": "next_token is malformed", "trace": "x"}',
        b"\xff\xfe",
    ],
)
def test_bodies_that_are_not_the_contracts_shape_are_replaced(body):
    assert json.loads(public_error_body(400, body)) == {"detail": "the request is not valid"}


def test_validation_lists_pass_only_in_fastapis_shape():
    good = [
        {
            "loc": ["body", "user_id"],
            "msg": "bad",
            "type": "string_pattern_mismatch",
            "input": "x y",
        }
    ]
    assert public_error_detail(422, good) is good
    for bad in (
        [],
        "text",
        [{"loc": "body", "msg": "m", "type": "t"}],
        [{"msg": "m", "type": "t"}],
        [{"loc": [{"x": 1}], "msg": "m", "type": "t"}],
    ):
        replaced = public_error_detail(422, bad)
        assert replaced != bad
        assert public_error_detail(422, replaced) is replaced  # the generic one is itself valid


def test_every_detail_of_the_tree_passes_the_edge():
    from query_core._exceptions import error_classes

    classes = list(error_classes())
    assert RepositoryThrottledError in classes
    assert InvalidNextTokenError in classes
    for cls in classes:
        for detail in cls.details:
            assert public_error_detail(cls.status_code, detail) == detail, cls


@pytest.mark.parametrize(
    ("cls", "problem"),
    [
        (query_core.InvalidBodyError, "BodyProblem"),
        (query_core.InvalidNextTokenError, "TokenProblem"),
        (query_core.BadGatewayError, "BadGatewayProblem"),
        (query_core.ServiceUnavailableError, "UnavailableProblem"),
        (query_core.GatewayTimeoutError, "TimeoutProblem"),
        (query_core.TooManyRequestsError, "ThrottledProblem"),
    ],
)
def test_a_closed_set_of_details_is_its_literal_and_the_first_is_the_default(cls, problem):
    from query_core import _exceptions

    texts = typing.get_args(getattr(_exceptions, problem).__value__)
    assert cls.details == texts
    assert len(texts) >= 2
    assert cls().detail == texts[0]
    assert cls(texts[-1]).detail == texts[-1]
    assert all(not c.__name__.startswith("_") for c in _exceptions.error_classes())


def test_the_public_apis_waf_answers_a_detail_of_the_contract():
    """The WAF rule's 429 body is written in infra; the contract's 429 must list its detail."""
    waf = Path(__file__).resolve().parents[3] / "infra/src/query_infra/waf.py"
    (detail,) = re.findall(r'^RATE_LIMITED_DETAIL: Final = "(.*)"$', waf.read_text(), re.M)
    assert detail in query_core.TooManyRequestsError.details
    assert public_error_detail(429, detail) == detail
