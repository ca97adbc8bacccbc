"""caller_identity: only what API Gateway's authorizer wrote, in the three REST shapes."""

import pytest
from query_core import clean_caller_id
from query_core.events import caller_identity, decode_event

IDENTITY_NONE = {"caller": None, "user": None, "userArn": None, "sourceIp": "203.0.113.7"}


def event(request_context, headers=None):
    return {
        "httpMethod": "POST",
        "path": "/query/result",
        "headers": headers or {"X-Caller-Id": "spoofed"},
        "requestContext": {"requestId": "gw", **request_context},
        "body": "{}",
    }


@pytest.mark.parametrize(
    ("context", "claim", "expected"),
    [
        (
            {"authorizer": {"claims": {"sub": "s-1", "email": "a@b.c"}}, "identity": IDENTITY_NONE},
            None,
            "s-1",
        ),
        ({"authorizer": {"claims": {"sub": "s-1", "email": "a@b.c"}}}, "email", "a@b.c"),
        (
            {"authorizer": {"principalId": "p-1", "integrationLatency": 3, "tenant": "t-1"}},
            None,
            "p-1",
        ),
        ({"authorizer": {"principalId": "p-1", "tenant": "t-1"}}, "tenant", "t-1"),
        ({"authorizer": {"principalId": "p-1", "n": 42}}, "n", "42"),
        (
            {"identity": {**IDENTITY_NONE, "caller": "AROA1:s", "userArn": "arn:aws:sts::1:x/y"}},
            None,
            "AROA1",
        ),
        ({"identity": {**IDENTITY_NONE, "caller": "AIDA2"}}, "caller", "AIDA2"),
        # the session name (after the colon, and in user/userArn) is the caller's own choice
        (
            {"identity": {**IDENTITY_NONE, "caller": "AROA1:s", "userArn": "arn:aws:sts::1:x/y"}},
            "userArn",
            None,
        ),
        ({"identity": {**IDENTITY_NONE, "caller": ":victim"}}, None, None),
        # No authorizer: powertools' REST sample carries {"claims": null, "scopes": null}.
        ({"authorizer": {"claims": None, "scopes": None}, "identity": IDENTITY_NONE}, None, None),
        ({"identity": IDENTITY_NONE}, None, None),
        ({}, None, None),
        ({"authorizer": {"claims": {"email": "a@b.c"}}}, None, None),
        ({"authorizer": {"principalId": "p-1", "ok": True}}, "ok", None),
        ({"authorizer": "not an object", "identity": "nor this"}, None, None),
    ],
)
def test_caller_identity_of_rest_events(context, claim, expected):
    assert caller_identity(decode_event(event(context)), claim) == expected


def test_headers_never_count():
    request = decode_event(event({}, headers={"X-Caller-Id": "u-1", "X-Amzn-Oidc-Identity": "u"}))
    assert caller_identity(request) is None


def test_other_sources_have_no_caller():
    assert caller_identity(decode_event({"user_id": "u"})) is None


@pytest.mark.parametrize(
    ("value", "clean"),
    [
        ("u-1", "u-1"),
        ("a@b.c", "a@b.c"),
        (7, "7"),
        ("x" * 256, "x" * 256),
        ("x" * 257, None),
        ("", None),
        ("a b", None),
        ("a\r\nb", None),
        ("é", None),
        (True, None),
        (None, None),
        (1.5, None),
        (["u"], None),
    ],
)
def test_caller_ids_are_header_safe(value, clean):
    assert clean_caller_id(value) == clean
