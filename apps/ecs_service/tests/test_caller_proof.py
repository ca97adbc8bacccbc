"""The caller proof (docs/contract.md#caller-proof): behind the ALB, ``X-Caller-Id`` counts
only with the Query Lambda's ``X-Caller-Proof``; on Lambda the caller is the event's."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from ecs_service.app import create_service
from ecs_service.settings import ServiceSettings
from pydantic import SecretStr, ValidationError
from query_core import CallerProofKeys, UnauthorizedError
from query_core.events import rest_proxy_event

KEY = "k" * 40
KEYS = CallerProofKeys((KEY.encode(),))
SECRET = json.dumps({"keys": [KEY]})
REQUEST_ID = "req-proof-1"


def proven(
    caller: str,
    request_id: str = REQUEST_ID,
    *,
    keys: CallerProofKeys = KEYS,
    at: float | None = None,
) -> dict[str, str]:
    now = time.time() if at is None else at
    return {
        "X-Caller-Id": caller,
        "X-Caller-Proof": keys.sign(caller, request_id, now),
        "X-Request-Id": REQUEST_ID,
    }


@pytest.fixture(params=[True, False], ids=["hot-path", "fastapi"])
def checked(request, serve, settings):
    update = {
        "owner_check": True,
        "caller_proof_keys": SecretStr(SECRET),
        "hot_path": request.param,
    }
    with serve(create_service(settings.model_copy(update=update))) as running:
        yield running


def _post(service: Any, user_id: str, headers: dict[str, str]) -> Any:
    return service.request("POST", "/query/result", {"user_id": user_id}, headers=headers)


def test_a_proven_caller_reads_their_own_results(checked, upstream):
    response = _post(checked, "u-1", proven("u-1"))
    assert response.status == 200
    assert len(upstream.requests) == 1


def test_a_proven_caller_still_reads_only_their_own(checked, upstream):
    response = _post(checked, "u-2", proven("u-1"))
    assert response.status == 403
    assert upstream.requests == []


OTHER_KEYS = CallerProofKeys((b"o" * 40,))


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Caller-Id": "u-1", "X-Request-Id": REQUEST_ID},
        {**proven("u-2"), "X-Caller-Id": "u-1"},
        proven("u-1", "req-other"),
        proven("u-1", keys=OTHER_KEYS),
        proven("u-1", at=time.time() - 600),
        {**proven("u-1"), "X-Caller-Proof": "v1.1.not-a-proof"},
    ],
    ids=["no-proof", "another-callers", "another-request", "another-key", "stale", "garbage"],
)
def test_a_caller_without_a_valid_proof_is_401(checked, upstream, headers):
    response = _post(checked, "u-1", headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == "CallerProof"
    assert json.loads(response.data) == {"detail": UnauthorizedError().detail}
    assert upstream.requests == []


def test_no_caller_at_all_is_still_403(checked, upstream):
    assert _post(checked, "u-1", {"X-Request-Id": REQUEST_ID}).status == 403


def test_openapi_lists_the_401(checked):
    document = json.loads(checked.request("GET", "/openapi.json").data)
    responses = document["paths"]["/query/result"]["post"]["responses"]
    assert "401" in responses


def test_proof_off_trusts_the_header(serve, settings):
    update = {
        "owner_check": True,
        "caller_proof_keys": SecretStr(SECRET),
        "caller_proof_required": False,
    }
    with serve(create_service(settings.model_copy(update=update))) as running:
        response = _post(running, "u-1", {"X-Caller-Id": "u-1"})
    assert response.status == 200


PRODUCTION = {
    "ENVIRONMENT": "production",
    "INTERNAL_API_URL": "https://abc.execute-api.us-east-1.amazonaws.com/prod",
}


@pytest.fixture
def production(monkeypatch):
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    for name in ("CALLER_PROOF_KEYS", "CALLER_PROOF_REQUIRED", "OWNER_CHECK"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _one_line(exc: ValidationError) -> str:
    (error,) = exc.errors()
    return str(error["msg"]).removeprefix("Value error, ")


def test_production_with_the_owner_check_needs_the_keys(production):
    production.setenv("OWNER_CHECK", "true")
    with pytest.raises(ValidationError) as caught:
        ServiceSettings()
    line = _one_line(caught.value)
    assert line.startswith(
        "CALLER_PROOF_KEYS must be set when ENVIRONMENT=production and OWNER_CHECK=true"
    )
    assert "\n" not in line
    production.setenv("CALLER_PROOF_REQUIRED", "false")
    assert ServiceSettings().proof_keys is None
    production.delenv("CALLER_PROOF_REQUIRED")
    production.setenv("CALLER_PROOF_KEYS", SECRET)
    assert ServiceSettings().proof_keys == KEYS


def test_production_without_the_owner_check_needs_no_keys(production):
    assert ServiceSettings().caller_proof_enforced is False


def test_bad_keys_are_named_without_the_key(production):
    production.setenv("CALLER_PROOF_KEYS", json.dumps({"keys": ["short" + KEY[:10]]}))
    with pytest.raises(ValidationError) as caught:
        ServiceSettings()
    line = _one_line(caught.value)
    assert line.startswith("CALLER_PROOF_KEYS: the caller proof secret's key 1")
    assert KEY[:10] not in str(caught.value)


# --- the Mangum entry: the event's authorizer, never the event's headers ---------------


@pytest.fixture
def owner_checked_lambda(monkeypatch, lambda_handler_factory):
    monkeypatch.setenv("OWNER_CHECK", "true")
    return lambda_handler_factory()


def _event(user_id: str, caller: str, **headers: str) -> dict[str, Any]:
    event = rest_proxy_event(
        "/query/result", caller=caller, request_id=REQUEST_ID, body={"user_id": user_id}
    )
    event["headers"].update(headers)
    event["multiValueHeaders"] = {name: [value] for name, value in event["headers"].items()}
    return event


def test_mangum_takes_the_caller_from_the_authorizer(owner_checked_lambda, lambda_context):
    response = owner_checked_lambda(_event("u-1", "u-1"), lambda_context)
    assert response["statusCode"] == 200


def test_mangum_ignores_the_events_caller_headers(owner_checked_lambda, lambda_context):
    forged = _event("u-2", "u-1", **proven("u-2"))
    response = owner_checked_lambda(forged, lambda_context)
    assert response["statusCode"] == 403
    # The owner's own request is not refused for the stray headers either.
    assert (
        owner_checked_lambda(_event("u-1", "u-1", **proven("u-2")), lambda_context)["statusCode"]
        == 200
    )


def test_mangum_with_no_authorizer_has_no_caller(owner_checked_lambda, lambda_context):
    event = _event("u-1", "u-1", **proven("u-1"))
    del event["requestContext"]["authorizer"]
    assert owner_checked_lambda(event, lambda_context)["statusCode"] == 403
