"""next_token: bound to its query, signed with a key id, checked before any read."""

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from query_core import (
    DEFAULT_TOKEN_KEY,
    InvalidNextTokenError,
    PageTokenCodec,
    TokenKey,
    TokenKeys,
)

RID = "01JD5ZQ8R8E4V3N2M1K0J9H8G7"
KEY_A = TokenKey("k-a", b"a" * 32)
KEY_B = TokenKey("k-b", b"b" * 32)
codec = PageTokenCodec(TokenKeys(KEY_A))

ulids = st.from_regex(r"\A[0-7][0-9A-HJKMNP-TV-Z]{25}\Z")


@given(user_id=st.text(min_size=1), ap_id=st.none() | st.text(min_size=1), rid=ulids)
def test_round_trip(user_id, ap_id, rid):
    token = codec.encode(user_id=user_id, ap_id=ap_id, result_id=rid)
    assert token.isascii()
    assert token.startswith("k-a.")
    assert codec.decode(token, user_id=user_id, ap_id=ap_id) == rid


def test_token_of_another_user_or_filter_is_rejected():
    token = codec.encode(user_id="u-1", ap_id="ap-a", result_id=RID)
    for user_id, ap_id in [("u-2", "ap-a"), ("u-1", "ap-b"), ("u-1", None)]:
        with pytest.raises(InvalidNextTokenError, match="another user_id or ap_id"):
            codec.decode(token, user_id=user_id, ap_id=ap_id)


def test_rotation_keeps_tokens_of_the_previous_key_for_one_rotation():
    before = PageTokenCodec(TokenKeys(KEY_A))
    token = before.encode(user_id="u", ap_id=None, result_id=RID)
    after_one = PageTokenCodec(TokenKeys(KEY_B, previous=KEY_A))
    assert after_one.decode(token, user_id="u", ap_id=None) == RID
    assert after_one.encode(user_id="u", ap_id=None, result_id=RID).startswith("k-b.")
    after_two = PageTokenCodec(TokenKeys(TokenKey("k-c", b"c" * 32), previous=KEY_B))
    with pytest.raises(InvalidNextTokenError, match="expired"):
        after_two.decode(token, user_id="u", ap_id=None)


def test_a_known_key_id_with_another_secret_is_rejected():
    impostor = PageTokenCodec(TokenKeys(TokenKey("k-a", DEFAULT_TOKEN_KEY)))
    token = impostor.encode(user_id="u", ap_id=None, result_id=RID)
    with pytest.raises(InvalidNextTokenError, match="altered"):
        codec.decode(token, user_id="u", ap_id=None)


def sign(key: TokenKey, user_id: str, position: str) -> str:
    """A token as someone holding ``key`` could make it, whatever the position."""
    forger = PageTokenCodec(TokenKeys(key))
    return forger.encode(user_id=user_id, ap_id=None, result_id=position)


@pytest.mark.parametrize(
    "position",
    [
        "x" * 1025,
        "0" * 2000,
        "01J",
        "not-a-ulid-at-all-but-26ch",
        "01jd5zq8r8e4v3n2m1k0j9h8g7",
        "81JD5ZQ8R8E4V3N2M1K0J9H8G7",
        RID + "0",
        " " + RID[1:],
        "01JD5ZQ8R8E4V3N2M1K0J9H8GU",
    ],
)
def test_positions_that_break_the_key_rules_are_rejected_even_when_signed(position):
    with pytest.raises(InvalidNextTokenError, match="malformed"):
        codec.decode(sign(KEY_A, "u", position), user_id="u", ap_id=None)


@pytest.mark.parametrize("cut", [1, 5, 10, -1, -5])
def test_truncated_or_edited_tokens_are_rejected(cut):
    token = codec.encode(user_id="u", ap_id=None, result_id=RID)
    truncated = token[:cut]
    with pytest.raises(InvalidNextTokenError):
        codec.decode(truncated, user_id="u", ap_id=None)
    edited = token[:cut] + ("A" if token[cut] != "A" else "B") + token[cut + 1 :]
    with pytest.raises(InvalidNextTokenError):
        codec.decode(edited, user_id="u", ap_id=None)


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        "..",
        "abc",
        "abc.",
        ".abc",
        "!!!.???",
        "a.b.c",
        "é.é.é",
        "k-a.x.y.z",
        "k a.AA.AA",
        "k-a.MDFKRDVaUThSOEU0VjNOMk0xSzBKOUg4Rzc.AAAA",
    ],
)
def test_garbage_is_rejected(token):
    with pytest.raises(InvalidNextTokenError):
        codec.decode(token, user_id="u", ap_id=None)


def test_old_two_part_tokens_are_rejected():
    payload = base64.urlsafe_b64encode(RID.encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidNextTokenError, match="malformed"):
        codec.decode(f"{payload}.AAAAAAAAAAAAAAAAAAAAAA", user_id="u", ap_id=None)


def test_bare_key_bytes_still_work():
    bare = PageTokenCodec(b"k")
    token = bare.encode(user_id="u", ap_id=None, result_id=RID)
    assert bare.decode(token, user_id="u", ap_id=None) == RID
    with pytest.raises(InvalidNextTokenError):
        PageTokenCodec(b"other").decode(token, user_id="u", ap_id=None)


@pytest.mark.parametrize(
    ("key_id", "secret", "message"),
    [
        ("k", b"", "empty"),
        ("", b"s", "key id"),
        ("a.b", b"s", "key id"),
        ("x" * 65, b"s", "key id"),
    ],
)
def test_bad_keys_are_refused(key_id, secret, message):
    with pytest.raises(ValueError, match=message):
        TokenKey(key_id, secret)


def test_the_secret_never_shows():
    assert "aaaa" not in repr(TokenKeys(KEY_A, KEY_B))


def test_keys_from_the_secrets_json():
    text = json.dumps(
        {
            "current": {"id": "2026-11", "key": "c" * 40},
            "previous": {"id": "2026-10", "key": "p" * 40},
        }
    )
    keys = TokenKeys.from_secret_string(text)
    assert (keys.current.id, keys.current.secret) == ("2026-11", b"c" * 40)
    assert keys.previous is not None
    assert (keys.previous.id, keys.previous.secret) == ("2026-10", b"p" * 40)
    only = TokenKeys.from_secret_string(json.dumps({"current": {"id": "k1", "key": "k" * 32}}))
    assert only.previous is None
    # As Secrets Manager generates it when the stack creates the secret: one current key.
    created = TokenKeys.from_secret_string(json.dumps({"id": "k1", "key": "g" * 64}))
    assert (created.current.id, created.current.secret, created.previous) == ("k1", b"g" * 64, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[]", "JSON object"),
        ("{}", 'no "current"'),
        ('{"current": "k"}', '"current" must be an object'),
        ('{"current": {"id": "k 1", "key": "' + "k" * 40 + '"}}', '"current.id"'),
        ('{"current": {"id": "k1", "key": "short"}}', '"current.key" must be text of at least 32'),
        ('{"current": {"id": "k1", "key": 12345}}', '"current.key"'),
        ('{"id": "k1", "key": "short"}', '"current.key" must be text of at least 32'),
        (
            '{"current": {"id": "k1", "key": "'
            + "k" * 40
            + '"}, "previous": {"id": "k1", "key": "'
            + "p" * 40
            + '"}}',
            "different ids",
        ),
    ],
)
def test_bad_secrets_are_refused_in_one_line_without_the_key(text, message):
    with pytest.raises(ValueError, match=message) as info:
        TokenKeys.from_secret_string(text)
    assert "\n" not in str(info.value)
    assert "kkkkkkkk" not in str(info.value)
    assert "short" not in str(info.value)


@given(user_id=st.text(min_size=1), ap_id=st.none() | st.text(min_size=1), rid=ulids)
def test_every_issued_token_has_the_shape(user_id, ap_id, rid):
    assert PageTokenCodec.has_shape(codec.encode(user_id=user_id, ap_id=ap_id, result_id=rid))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "opaque-or-null",
        # another system's tokens: a DynamoDB key as base64 JSON, a bare offset
        base64.urlsafe_b64encode(
            json.dumps({"user_id": "u-1", "result_id": RID}).encode()
        ).decode(),
        "42",
        # this codec's spelling broken in each part
        f"k-a.{base64.urlsafe_b64encode(b'not-a-ulid').decode().rstrip('=')}.{'A' * 22}",
        "k a." + codec.encode(user_id="u", ap_id=None, result_id=RID).split(".", 1)[1],
        codec.encode(user_id="u", ap_id=None, result_id=RID) + "AA",
        codec.encode(user_id="u", ap_id=None, result_id=RID) + ".x",
    ],
)
def test_other_spellings_do_not_have_the_shape(token):
    assert not PageTokenCodec.has_shape(token)
