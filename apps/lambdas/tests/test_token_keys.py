"""next_token keys from Secrets Manager (moto over HTTP): rotation, forgery, key rules.

See docs/contract.md#tokens.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from query_core import DEFAULT_TOKEN_KEYS, InvalidNextTokenError, PageTokenCodec

# The handler reads its keys and its table through one endpoint: moto's, which serves both.
pytestmark = pytest.mark.parametrize("dynamodb_endpoint", ["moto"], indirect=True)


def keys(current: str, previous: str | None = None) -> str:
    document: dict[str, Any] = {"current": {"id": current, "key": f"{current}-" + "s" * 40}}
    if previous is not None:
        document["previous"] = {"id": previous, "key": f"{previous}-" + "s" * 40}
    return json.dumps(document)


@pytest.fixture
def token_secret(secrets, handler_module, monkeypatch) -> Any:
    """A secret with the keys, named by NEXT_TOKEN_SECRET_ARN; ``restart()`` is a new container."""
    arn = secrets.create_secret(Name=f"tokens-{uuid.uuid4().hex[:8]}", SecretString=keys("k1"))[
        "ARN"
    ]
    monkeypatch.setenv("NEXT_TOKEN_SECRET_ARN", arn)

    class Secret:
        def rotate(self, current: str, previous: str) -> None:
            secrets.put_secret_value(SecretId=arn, SecretString=keys(current, previous))

        def restart(self) -> None:
            handler_module.get_settings.cache_clear()
            from lambdas.query_result._keys import get_token_keys

            get_token_keys.cache_clear()
            monkeypatch.setattr(handler_module, "_repository", None)

    secret = Secret()
    secret.restart()
    return secret


def page(module: Any, invoke: Any, **body: Any) -> tuple[int, Any]:
    status, answer, _ = invoke(module, {"user_id": "u-1001", "limit": 3, **body})
    return status, answer


def test_tokens_carry_the_current_key_id(handler_module, invoke, token_secret):
    status, first = page(handler_module, invoke)
    assert status == 200
    assert first["next_token"].startswith("k1.")


def test_rotation_keeps_in_flight_tokens_for_one_rotation(handler_module, invoke, token_secret):
    _, first = page(handler_module, invoke)
    token = first["next_token"]

    token_secret.rotate("k2", previous="k1")
    token_secret.restart()
    status, second = page(handler_module, invoke, next_token=token)
    assert status == 200
    assert second["items"]
    assert second["next_token"].startswith("k2.")

    token_secret.rotate("k3", previous="k2")
    token_secret.restart()
    status, answer = page(handler_module, invoke, next_token=token)
    assert (status, answer) == (
        400,
        {
            "detail": "next_token has expired: its key has been rotated out; start again without "
            "next_token"
        },
    )
    assert page(handler_module, invoke, next_token=second["next_token"])[0] == 200


def test_an_emergency_rotation_reaches_a_warm_container_within_the_ttl(
    handler_module, invoke, token_secret, monkeypatch
):
    """No restart: the leaked key stops working once the keys are older than the TTL."""
    monkeypatch.setenv("NEXT_TOKEN_KEYS_TTL_SECONDS", "0.5")
    token_secret.restart()
    _, first = page(handler_module, invoke)
    leaked = first["next_token"]
    assert page(handler_module, invoke, next_token=leaked)[0] == 200

    token_secret.rotate("k9", previous="k8")  # k1 is out at once, not kept as previous
    time.sleep(0.6)
    status, answer = page(handler_module, invoke, next_token=leaked)
    assert (status, "expired" in answer["detail"]) == (400, True)
    assert page(handler_module, invoke)[1]["next_token"].startswith("k9.")


def test_a_token_forged_with_the_public_key_is_400(
    handler_module, invoke, token_secret, monkeypatch
):
    """The old production key was the public default: a token made with it buys nothing,
    and its unknown key id does not make every request a read of the secret."""
    from lambdas.query_result import _keys

    reads = []
    load = _keys.load_token_keys
    monkeypatch.setattr(_keys, "load_token_keys", lambda s: reads.append(1) or load(s))
    forged = PageTokenCodec(DEFAULT_TOKEN_KEYS).encode(
        user_id="u-1001", ap_id=None, result_id="0" * 2000
    )
    for _ in range(1000):
        status, answer = page(handler_module, invoke, next_token=forged)
        assert status == 400
    assert "expired" in answer["detail"]
    assert len(reads) <= 1  # at most one refresh in 10 s, whatever the number of tokens


def test_a_signed_position_over_the_key_limit_is_400_not_500(handler_module, invoke):
    """Local runs use the public key: a position that breaks the key rules is the caller's 400."""
    for position in ("0" * 2000, "x" * 1025, "not-a-ulid"):
        forged = PageTokenCodec(DEFAULT_TOKEN_KEYS).encode(
            user_id="u-1001", ap_id=None, result_id=position
        )
        status, answer = page(handler_module, invoke, next_token=forged)
        assert (status, answer) == (400, {"detail": "next_token is malformed"})


def test_a_literal_key_is_used_in_local(handler_module, invoke, monkeypatch):
    monkeypatch.setenv("NEXT_TOKEN_SECRET", "a-local-literal-key")
    handler_module.get_settings.cache_clear()
    from lambdas.query_result._keys import get_token_keys

    get_token_keys.cache_clear()
    _, first = page(handler_module, invoke)
    default = PageTokenCodec(DEFAULT_TOKEN_KEYS)
    with pytest.raises(InvalidNextTokenError, match="altered"):
        default.decode(first["next_token"], user_id="u-1001", ap_id=None)
    literal = PageTokenCodec(b"a-local-literal-key")
    assert literal.decode(first["next_token"], user_id="u-1001", ap_id=None)


def test_the_documented_rotation_from_the_secret_as_the_stack_creates_it(
    secrets, handler_module, invoke, monkeypatch
):
    """docs/security.md#tokens: the created secret is one generated key; the first rotation
    makes it `previous` (same id and key) and tokens in flight keep working."""
    generated = secrets.get_random_password(PasswordLength=64, ExcludePunctuation=True)
    created = json.dumps({"id": "k1", "key": generated["RandomPassword"]})
    arn = secrets.create_secret(Name=f"tokens-{uuid.uuid4().hex[:8]}", SecretString=created)["ARN"]
    monkeypatch.setenv("NEXT_TOKEN_SECRET_ARN", arn)
    monkeypatch.setenv("NEXT_TOKEN_KEYS_TTL_SECONDS", "0.5")
    handler_module.get_settings.cache_clear()
    from lambdas.query_result._keys import get_token_keys

    get_token_keys.cache_clear()
    monkeypatch.setattr(handler_module, "_repository", None)
    _, first = page(handler_module, invoke)
    assert first["next_token"].startswith("k1.")

    old = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    new = secrets.get_random_password(PasswordLength=64, ExcludePunctuation=True)
    rotated = {"current": {"id": "k2", "key": new["RandomPassword"]}, "previous": old}
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps(rotated))
    time.sleep(0.6)
    status, second = page(handler_module, invoke, next_token=first["next_token"])
    assert status == 200
    assert second["next_token"].startswith("k2.")
