import pytest
from hypothesis import given
from hypothesis import strategies as st
from query_core import InvalidNextTokenError, PageTokenCodec

codec = PageTokenCodec(b"k")


@given(user_id=st.text(min_size=1), ap_id=st.none() | st.text(min_size=1), rid=st.text(min_size=1))
def test_round_trip(user_id, ap_id, rid):
    token = codec.encode(user_id=user_id, ap_id=ap_id, result_id=rid)
    assert token.isascii()
    assert codec.decode(token, user_id=user_id, ap_id=ap_id) == rid


def test_token_of_another_user_or_filter_is_rejected():
    token = codec.encode(user_id="u-1", ap_id="ap-a", result_id="01J")
    for user_id, ap_id in [("u-2", "ap-a"), ("u-1", "ap-b"), ("u-1", None)]:
        with pytest.raises(InvalidNextTokenError, match="another user_id or ap_id"):
            codec.decode(token, user_id=user_id, ap_id=ap_id)


def test_token_from_another_key_is_rejected():
    token = PageTokenCodec(b"other").encode(user_id="u", ap_id=None, result_id="01J")
    with pytest.raises(InvalidNextTokenError):
        codec.decode(token, user_id="u", ap_id=None)


@pytest.mark.parametrize("cut", [1, 5, 10, -1, -5])
def test_truncated_or_edited_tokens_are_rejected(cut):
    token = codec.encode(user_id="u", ap_id=None, result_id="01JABCDEFGHJKMNPQRSTVWXYZ")
    truncated = token[:cut]
    with pytest.raises(InvalidNextTokenError):
        codec.decode(truncated, user_id="u", ap_id=None)
    edited = token[:cut] + ("A" if token[cut] != "A" else "B") + token[cut + 1 :]
    with pytest.raises(InvalidNextTokenError):
        codec.decode(edited, user_id="u", ap_id=None)


@pytest.mark.parametrize("token", ["", ".", "abc", "abc.", ".abc", "!!!.???", "a.b.c", "é.é"])
def test_garbage_is_rejected(token):
    with pytest.raises(InvalidNextTokenError):
        codec.decode(token, user_id="u", ap_id=None)


def test_empty_key_is_refused():
    with pytest.raises(ValueError, match="empty"):
        PageTokenCodec(b"")
