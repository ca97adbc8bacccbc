"""The Query Lambda proves the caller it names (docs/contract.md#caller-proof): its
``X-Caller-Proof`` checks out with the shared keys, a client's own never goes on, and the
service's 401 is the contract's 502."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from lambdas._startup import SettingsError
from lambdas.query._proof import RefreshingProofKeys, load_proof_keys
from lambdas.query._settings import QueryLambdaSettings
from query_core import CallerProofKeys, UnauthorizedError
from query_devstack import Reply

KEY = "q" * 40
NEXT = "r" * 40
SECRET = json.dumps({"keys": [KEY]})


@pytest.fixture
def proving(query_module, monkeypatch):
    monkeypatch.setenv("CALLER_PROOF_KEYS", SECRET)
    query_module.get_settings.cache_clear()
    return query_module


def test_the_named_caller_goes_with_a_proof_the_service_accepts(proving, service, load_event):
    event = load_event("rest_v1_cognito_authorizer.json")
    event["headers"]["X-Caller-Proof"] = "v1.1.client-made"
    assert call(proving, event)["statusCode"] == 200
    (sent,) = service.requests
    caller, proof = sent.headers["x-caller-id"], sent.headers["x-caller-proof"]
    assert proof != "v1.1.client-made"
    keys = CallerProofKeys((KEY.encode(),))
    assert keys.verify(proof, caller, sent.headers["x-request-id"], time.time())
    assert not keys.verify(proof, "u-9999", sent.headers["x-request-id"], time.time())


def test_a_clients_own_proof_never_reaches_the_service(proving, service, load_event):
    event = load_event("rest_v1_external_query.json")
    for name, value in (("X-Caller-Id", "u-1001"), ("X-Caller-Proof", "v1.1.client-made")):
        event["headers"][name] = value
        event["multiValueHeaders"][name] = [value]
    call(proving, event)
    (sent,) = service.requests
    assert "x-caller-id" not in sent.headers
    assert "x-caller-proof" not in sent.headers


def test_without_keys_in_local_no_proof_is_sent(query_module, service, load_event):
    call(query_module, load_event("rest_v1_cognito_authorizer.json"))
    assert "x-caller-proof" not in service.requests[0].headers


def test_a_refused_proof_is_a_502_not_the_clients_fault(proving, service, load_event):
    service.reply = Reply(
        status=401,
        body=json.dumps({"detail": UnauthorizedError().detail}).encode(),
        headers={"content-type": "application/json", "www-authenticate": "CallerProof"},
    )
    response = call(proving, load_event("rest_v1_cognito_authorizer.json"))
    assert response["statusCode"] == 502
    assert json.loads(response["body"]) == {
        "detail": "the query service answered something unusable"
    }
    assert "www-authenticate" not in {name.lower() for name in response["headers"]}


@pytest.fixture
def proof_secret(secrets, moto_endpoint):
    arn = secrets.create_secret(
        Name=f"proof-{uuid.uuid4().hex[:8]}", SecretString=json.dumps({"key": KEY})
    )["ARN"]
    return arn


def _settings(moto_endpoint: str, **environ: str) -> QueryLambdaSettings:
    return QueryLambdaSettings.from_environ({"AWS_ENDPOINT_URL": moto_endpoint, **environ})


def test_keys_from_secrets_manager_follow_a_rotation_after_the_ttl(
    secrets, moto_endpoint, proof_secret, monkeypatch
):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    settings = _settings(moto_endpoint, CALLER_PROOF_SECRET_ARN=proof_secret)
    now = [0.0]
    keys = RefreshingProofKeys(lambda: load_proof_keys(settings), ttl=300, clock=lambda: now[0])
    first = keys.keys()
    assert first == CallerProofKeys((KEY.encode(),))
    secrets.put_secret_value(SecretId=proof_secret, SecretString=json.dumps({"keys": [NEXT, KEY]}))
    now[0] = 299.0
    assert keys.keys() is first
    now[0] = 300.0
    assert keys.keys() == CallerProofKeys((NEXT.encode(), KEY.encode()))
    secrets.put_secret_value(SecretId=proof_secret, SecretString="not json")
    now[0] = 700.0
    assert keys.keys() == CallerProofKeys((NEXT.encode(), KEY.encode()))  # kept, retried later


def test_an_unreadable_secret_is_named_in_one_line(secrets, moto_endpoint, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf"
    with pytest.raises(SettingsError, match=r"^CALLER_PROOF_SECRET_ARN could not be read: "):
        load_proof_keys(_settings(moto_endpoint, CALLER_PROOF_SECRET_ARN=missing))


def test_bad_local_keys_are_named_without_the_key():
    with pytest.raises(SettingsError) as caught:
        load_proof_keys(_settings("http://127.0.0.1:1", CALLER_PROOF_KEYS='{"keys": ["x1y2"]}'))
    assert str(caught.value).startswith("CALLER_PROOF_KEYS: the caller proof secret's key 1")
    assert "x1y2" not in str(caught.value)


def call(module: Any, event: Any) -> dict[str, Any]:
    class Context:
        aws_request_id = "lambda-ctx-id"

        def get_remaining_time_in_millis(self) -> int:
            return 29_000

    return module.handler(event, Context())
