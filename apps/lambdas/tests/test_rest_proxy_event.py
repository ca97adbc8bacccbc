"""``query_core.events.rest_proxy_event`` against the real events of tests/events/: the event
the tools build (canary check, ``query-migrate smoke``/``shadow``) has the shape the public
API sends, with the caller where each authorizer puts it."""

from __future__ import annotations

from typing import Any

import pytest
from query_core.events import caller_identity, decode_event, rest_proxy_event

#: The real event of each owner claim's authorizer, and the caller it names.
AUTHORIZERS = [
    ("rest_v1_cognito_authorizer.json", "sub", "u-1001"),
    ("rest_v1_lambda_authorizer.json", "principalId", "u-1002"),
    ("rest_v1_iam_auth_user.json", "caller", "AIDAXMPLEXAMPLE2USER"),
]


def _shape(value: Any) -> Any:
    """The keys of an event, nested, and the type of each leaf (None for null)."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return None if value is None else type(value).__name__


@pytest.mark.parametrize(("name", "claim", "caller"), AUTHORIZERS)
def test_the_built_event_names_the_caller_where_the_authorizer_does(
    load_event, name: str, claim: str, caller: str
) -> None:
    real = load_event(name)
    built = rest_proxy_event(
        "/query/result",
        caller=caller,
        claim=claim,
        request_id="req-1",
        body={"user_id": caller, "limit": 2},
    )
    assert set(built) == set(real)
    assert set(built["requestContext"]) <= set(real["requestContext"])
    assert set(built["requestContext"]["identity"]) <= set(real["requestContext"]["identity"])
    assert ("authorizer" in built["requestContext"]) == ("authorizer" in real["requestContext"])
    if "authorizer" in real["requestContext"]:
        authorizer = built["requestContext"]["authorizer"]
        assert set(authorizer) <= set(real["requestContext"]["authorizer"])
    request = decode_event(built)
    assert request.source == decode_event(real).source == "rest_v1"
    assert caller_identity(request, claim) == caller_identity(decode_event(real), claim) == caller
    assert request.method == "POST"
    assert request.path == "/query/result"
    assert request.body == b'{"user_id": "' + caller.encode() + b'", "limit": 2}'


def test_the_built_event_has_the_real_events_types(load_event) -> None:
    real = load_event("rest_v1_cognito_authorizer.json")
    built = rest_proxy_event("/query/result", caller="u-1", request_id="r", body={"a": 1})
    real_shape, built_shape = _shape(real), _shape(built)
    for key in ("resource", "path", "httpMethod", "body", "isBase64Encoded", "stageVariables"):
        assert built_shape[key] == real_shape[key], key
    for key in ("requestId", "stage", "apiId", "path", "httpMethod", "resourcePath"):
        assert built_shape["requestContext"][key] == real_shape["requestContext"][key], key
    assert built["headers"]["X-Request-Id"] == "r"
    assert built["multiValueHeaders"]["X-Request-Id"] == ["r"]
    assert built["requestContext"]["requestId"] == "r"


def test_a_get_without_a_body_sends_no_content_type() -> None:
    built = rest_proxy_event("/query/marketing", caller="u-1", request_id="r", method="GET")
    request = decode_event(built)
    assert (request.method, request.path, built["body"]) == ("GET", "/query/marketing", None)
    assert "Content-Type" not in built["headers"]
    assert caller_identity(request) == "u-1"  # the default claim is Cognito's sub
