"""The caller proof: what the Query Lambda signs and the service checks
(docs/contract.md#caller-proof)."""

import json

import pytest
from query_core import (
    CALLER_PROOF_HEADER,
    DEFAULT_CALLER_PROOF_SKEW_SECONDS,
    MIN_CALLER_PROOF_KEY_CHARS,
    CallerProofKeys,
)

NEW = "n" * MIN_CALLER_PROOF_KEY_CHARS
OLD = "o" * MIN_CALLER_PROOF_KEY_CHARS
KEYS = CallerProofKeys((NEW.encode(),))
NOW = 1_790_000_000.0
CALLER = "sub-1234"
REQUEST = "req-1"


def test_a_proof_verifies_for_its_caller_and_request():
    proof = KEYS.sign(CALLER, REQUEST, NOW)
    assert CALLER_PROOF_HEADER == "X-Caller-Proof"
    assert proof.startswith(f"v1.{int(NOW)}.")
    assert KEYS.verify(proof, CALLER, REQUEST, NOW + 5)


@pytest.mark.parametrize(
    ("caller", "request_id"),
    [("sub-9999", REQUEST), (CALLER, "req-2"), (CALLER + " ", REQUEST), ("", REQUEST)],
)
def test_a_proof_names_one_caller_and_one_request(caller, request_id):
    assert not KEYS.verify(KEYS.sign(CALLER, REQUEST, NOW), caller, request_id, NOW)


@pytest.mark.parametrize(
    "offset", [DEFAULT_CALLER_PROOF_SKEW_SECONDS + 1, -(DEFAULT_CALLER_PROOF_SKEW_SECONDS + 1)]
)
def test_a_proof_outside_the_window_is_refused(offset):
    proof = KEYS.sign(CALLER, REQUEST, NOW)
    assert KEYS.verify(proof, CALLER, REQUEST, NOW + offset - offset / abs(offset) * 2)
    assert not KEYS.verify(proof, CALLER, REQUEST, NOW + offset)
    assert KEYS.verify(proof, CALLER, REQUEST, NOW + offset, skew=abs(offset))


def test_another_key_proves_nothing():
    other = CallerProofKeys((OLD.encode(),))
    assert not KEYS.verify(other.sign(CALLER, REQUEST, NOW), CALLER, REQUEST, NOW)


def test_during_a_rotation_the_first_key_signs_and_both_verify():
    rotating = CallerProofKeys((NEW.encode(), OLD.encode()))
    old_only = CallerProofKeys((OLD.encode(),))
    assert rotating.verify(old_only.sign(CALLER, REQUEST, NOW), CALLER, REQUEST, NOW)
    assert rotating.verify(KEYS.sign(CALLER, REQUEST, NOW), CALLER, REQUEST, NOW)
    assert rotating.sign(CALLER, REQUEST, NOW) == KEYS.sign(CALLER, REQUEST, NOW)
    assert not old_only.verify(rotating.sign(CALLER, REQUEST, NOW), CALLER, REQUEST, NOW)


def _flip_last(text: str) -> str:
    return text[:-1] + ("A" if text[-1] != "A" else "B")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: None,
        lambda p: "",
        lambda p: p.replace("v1.", "v2.", 1),
        lambda p: p + "A",
        lambda p: p[:-1],
        _flip_last,
        lambda p: p.replace(".", "..", 1),
        lambda p: p.split(".", 2)[0] + ".+1." + p.split(".", 2)[2],
        lambda p: p.split(".", 2)[0] + f".{int(NOW) + 1}." + p.split(".", 2)[2],
        lambda p: " " + p,
        lambda p: "v1." + "9" * 40 + "." + p.split(".", 2)[2],
    ],
)
def test_malformed_or_altered_proofs_are_refused(mangle):
    assert not KEYS.verify(mangle(KEYS.sign(CALLER, REQUEST, NOW)), CALLER, REQUEST, NOW)


def test_the_last_character_has_one_spelling():
    proof = KEYS.sign(CALLER, REQUEST, NOW)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # 32 bytes in 43 characters: the last character carries 4 bits and 2 spare ones.
    index = alphabet.index(proof[-1])
    twin = proof[:-1] + alphabet[index ^ 1]
    assert not KEYS.verify(twin, CALLER, REQUEST, NOW)


def test_keys_from_the_generated_secret_and_after_a_rotation():
    assert CallerProofKeys.from_secret_string(json.dumps({"key": NEW})) == KEYS
    rotated = CallerProofKeys.from_secret_string(json.dumps({"keys": [NEW, OLD]}))
    assert rotated.keys == (NEW.encode(), OLD.encode())
    assert NEW not in repr(rotated)
    assert "n" * 8 not in repr(rotated)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "is not JSON"),
        ("[]", "must be a JSON object"),
        ("{}", 'has no "keys"'),
        (json.dumps({"keys": []}), "1 to 3 keys"),
        (json.dumps({"keys": NEW}), "1 to 3 keys"),
        (json.dumps({"keys": [NEW] * 4}), "1 to 3 keys"),
        (json.dumps({"keys": [NEW, "short-secret-value"]}), "key 2 must be text of at least 32"),
        (json.dumps({"key": 12345}), "key 1 must be text"),
    ],
)
def test_bad_secrets_are_named_without_the_key(text, message):
    with pytest.raises(ValueError, match=message) as caught:
        CallerProofKeys.from_secret_string(text)
    assert "short-secret-value" not in str(caught.value)
    assert NEW not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_keys_must_be_there():
    with pytest.raises(ValueError, match="1 to 3 non-empty keys"):
        CallerProofKeys(())
    with pytest.raises(ValueError, match="1 to 3 non-empty keys"):
        CallerProofKeys((b"",))
