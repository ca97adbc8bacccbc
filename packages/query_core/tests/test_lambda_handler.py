"""The one Lambda handler skeleton: decode, request id, logging context, dispatch, answer."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from query_core import (
    RETIRED_MARKETING_DETAIL,
    ServiceUnavailableError,
    request_id_var,
)
from query_core.events import LambdaHandler, LambdaRequest, proxy_response, read_query_request
from query_core.testing import capture_json_logs


@dataclass
class Custom:
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    aws_request_id: str = "lambda-id"
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return 1000


@dataclass
class VersionedContext(Context):
    function_version: str = "7"


def rest(path="/query/result", method="POST", headers=None, body='{"user_id": "u-1"}', gw="gw-id"):
    return {
        "httpMethod": method,
        "path": path,
        "headers": headers if headers is not None else {"X-Request-Id": "client-id"},
        "requestContext": {"requestId": gw} if gw else {},
        "body": body,
        "isBase64Encoded": False,
    }


class Recorder:
    """A dispatch that records what it was given and what the log context held."""

    def __init__(self, raises: BaseException | None = None) -> None:
        self.calls: list[tuple[LambdaRequest, str, str | None]] = []
        self.raises = raises

    def __call__(self, request: LambdaRequest, request_id: str, _context: Any) -> dict[str, Any]:
        self.calls.append((request, request_id, request_id_var.get()))
        logging.getLogger("test.dispatch").warning("inside dispatch")
        if self.raises is not None:
            raise self.raises
        return proxy_response(200, {"ok": True})


@pytest.fixture
def logger():
    log = logging.getLogger("test.skeleton")
    log.setLevel(logging.INFO)
    return log


@pytest.mark.parametrize(
    ("event", "context", "expected"),
    [
        (rest(), Context(), "client-id"),
        (rest(headers={"x-request-id": "bad id\n"}), Context(), "gw-id"),
        (rest(headers={}), Context(), "gw-id"),
        (rest(headers={}, gw=None), Context(), "lambda-id"),
        ({"user_id": "u"}, Context(client_context=Custom({"request_id": "caller"})), "caller"),
        ({"user_id": "u"}, Context(client_context=Custom({"request_id": "bad\x00"})), "lambda-id"),
        ({"user_id": "u"}, Context(), "lambda-id"),
    ],
)
def test_request_id_reaches_dispatch_the_logs_and_the_answer(event, context, expected, logger):
    dispatch = Recorder()
    with capture_json_logs() as logs:
        response = LambdaHandler(dispatch, logger=logger)(event, context)
    ((_, given, in_context),) = dispatch.calls
    assert given == in_context == expected
    assert response["headers"]["x-request-id"] == expected
    assert {line["request_id"] for line in logs.lines} == {expected}
    assert request_id_var.get() is None  # reset after the invocation


def test_the_platforms_ids_are_logged_beside_the_clients_request_id(logger):
    """A client chooses X-Request-Id; API Gateway's and Lambda's ids it cannot."""
    dispatch = Recorder()
    with capture_json_logs() as logs:
        LambdaHandler(dispatch, logger=logger)(
            rest(headers={"X-Request-Id": "chosen-by-client"}, gw="gw-7"), Context()
        )
        LambdaHandler(dispatch, logger=logger)({"user_id": "u"}, Context("lambda-8"))
    first, second = logs.with_message("request handled")
    assert (first["request_id"], first["apigw_request_id"], first["aws_request_id"]) == (
        "chosen-by-client",
        "gw-7",
        "lambda-id",
    )
    assert (second["request_id"], second["aws_request_id"]) == ("lambda-8", "lambda-8")
    assert "apigw_request_id" not in second  # a direct invocation has no API Gateway id


def test_request_id_is_generated_when_nothing_is_usable(logger):
    dispatch = Recorder()
    response = LambdaHandler(dispatch, logger=logger)(
        rest(headers={}, gw=None), Context(aws_request_id="")
    )
    generated = dispatch.calls[0][1]
    assert len(generated) == 36
    assert generated.count("-") == 4
    assert response["headers"]["x-request-id"] == generated


def test_one_access_line_per_request(logger):
    with capture_json_logs() as logs:
        LambdaHandler(Recorder(), logger=logger)(rest(), Context())
    (line,) = logs.with_message("request handled")
    assert (line["source"], line["method"], line["path"], line["status"]) == (
        "rest_v1",
        "POST",
        "/query/result",
        200,
    )
    assert line["duration_ms"] >= 0
    assert line["function_version"] is None  # a context without one


def test_the_access_line_names_the_version_that_answered(logger):
    # infra's canary counts 5xx per version from this field (query_infra.canary).
    with capture_json_logs() as logs:
        LambdaHandler(Recorder(), logger=logger)(rest(), VersionedContext())
    (line,) = logs.with_message("request handled")
    assert line["function_version"] == "7"


def test_errors_of_the_tree_are_answered_from_the_table(logger):
    handler = LambdaHandler(Recorder(ServiceUnavailableError(retry_after=3)), logger=logger)
    with capture_json_logs() as logs:
        response = handler(rest(), Context())
    assert response["statusCode"] == 503
    assert response["headers"]["retry-after"] == "3"
    assert json.loads(response["body"]) == {
        "detail": "the results service is unavailable; retry later"
    }
    (warning,) = logs.with_message(
        "dependency failure: the results service is unavailable; retry later"
    )
    assert warning["level"] == "WARNING"
    assert warning["request_id"] == "client-id"


def test_an_unexpected_failure_is_500_and_logged_with_its_traceback(logger):
    handler = LambdaHandler(
        Recorder(RuntimeError("arn:aws:iam::123456789012:role/x leaked")), logger=logger
    )
    with capture_json_logs() as logs:
        response = handler(rest(), Context())
    assert (response["statusCode"], json.loads(response["body"])) == (
        500,
        {"detail": "internal error"},
    )
    (failure,) = logs.with_message("unexpected failure")
    assert failure["level"] == "ERROR"
    assert "RuntimeError" in failure["exception"]
    assert failure["request_id"] == "client-id"


@pytest.mark.parametrize("event", [None, [1, 2], "text"])
def test_unsupported_events_are_400_without_dispatch(event, logger):
    dispatch = Recorder()
    response = LambdaHandler(dispatch, logger=logger)(event, Context())
    assert (response["statusCode"], json.loads(response["body"])) == (
        400,
        {"detail": "unsupported event"},
    )
    assert response["headers"]["x-request-id"] == "lambda-id"
    assert dispatch.calls == []


def test_sources_a_function_does_not_take_are_400(logger):
    dispatch = Recorder()
    handler = LambdaHandler(dispatch, logger=logger, sources=("rest_v1",))
    assert handler({"user_id": "u"}, Context())["statusCode"] == 400
    assert handler(rest(), Context())["statusCode"] == 200
    assert len(dispatch.calls) == 1


def _read(event):
    return LambdaHandler(
        lambda request, _id, _ctx: proxy_response(200, read_query_request(request)),
        logger=logging.getLogger("test.read"),
    )(event, Context())


@pytest.mark.parametrize(
    ("event", "status", "detail"),
    [
        (rest(path="/query/marketing/x", method="GET"), 410, RETIRED_MARKETING_DETAIL),
        (rest(path="/query/other"), 404, "Not Found"),
        (rest(method="PUT"), 405, "Method Not Allowed"),
        (
            rest(headers={"content-type": "text/plain"}),
            415,
            "Content-Type must be application/json",
        ),
        (
            rest(body='{"user_id": "' + "x" * 70_000 + '"}'),
            413,
            "request body is larger than 65536 bytes",
        ),
        (rest(body="{"), 400, "request body is not valid JSON"),
        (rest(body=None), 400, "request body is empty; expected a JSON object"),
    ],
)
def test_read_query_request_applies_the_contracts_checks(event, status, detail):
    response = _read(event)
    assert (response["statusCode"], json.loads(response["body"])["detail"]) == (status, detail)


def test_read_query_request_gives_the_validated_request():
    response = _read(rest(body='{"user_id": "u-9", "limit": 3}'))
    assert json.loads(response["body"]) == {
        "user_id": "u-9",
        "ap_id": None,
        "limit": 3,
        "next_token": None,
    }
    assert _read(rest(body='{"user_id": "bad id"}'))["statusCode"] == 422
    assert _read(rest(path="/query/marketing"))["headers"].get("allow") is None
    assert _read(rest(method="GET"))["headers"]["allow"] == "POST"
