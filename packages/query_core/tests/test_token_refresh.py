"""RefreshingTokenKeys: keys read again after a TTL and on an unknown key id, never too often."""

from __future__ import annotations

import logging

import pytest
from query_core import (
    InvalidNextTokenError,
    PageTokenCodec,
    RefreshingTokenKeys,
    TokenKey,
    TokenKeys,
)

K1 = TokenKeys(TokenKey("k1", b"one" * 12))
K2 = TokenKeys(TokenKey("k2", b"two" * 12), previous=TokenKey("k1", b"one" * 12))
K3 = TokenKeys(TokenKey("k3", b"three" * 8))  # an emergency rotation: k1 and k2 are gone


class Store:
    """What the secret holds now, how often it was read, and whether reading fails."""

    def __init__(self, keys: TokenKeys) -> None:
        self.keys = keys
        self.reads = 0
        self.failing = False

    def load(self) -> TokenKeys:
        self.reads += 1
        if self.failing:
            raise ConnectionError("the secret store is unreachable")
        return self.keys


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def token(keys: TokenKeys) -> str:
    return PageTokenCodec(keys).encode(user_id="u", ap_id=None, result_id="0" * 26)


def test_a_leaked_key_stops_being_trusted_once_the_ttl_passes():
    store, clock = Store(K1), Clock()
    codec = PageTokenCodec(RefreshingTokenKeys(store.load, ttl=300, clock=clock))
    leaked = token(K1)
    assert codec.decode(leaked, user_id="u", ap_id=None)
    store.keys = K3  # the operator rotates both keys out
    clock.now += 299
    assert codec.decode(leaked, user_id="u", ap_id=None)  # still within the TTL
    clock.now += 1
    with pytest.raises(InvalidNextTokenError, match="expired"):
        codec.decode(leaked, user_id="u", ap_id=None)
    assert codec.encode(user_id="u", ap_id=None, result_id="0" * 26).startswith("k3.")
    assert store.reads == 2


def test_a_token_of_a_newer_key_makes_the_container_read_the_keys_at_once():
    store, clock = Store(K1), Clock()
    codec = PageTokenCodec(RefreshingTokenKeys(store.load, ttl=300, clock=clock))
    store.keys = K2  # rotated; another container already signs with k2
    clock.now += 11
    assert codec.decode(token(K2), user_id="u", ap_id=None)
    assert store.reads == 2


def test_made_up_key_ids_read_the_store_at_most_once_per_interval():
    store, clock = Store(K1), Clock()
    codec = PageTokenCodec(RefreshingTokenKeys(store.load, min_interval=10, clock=clock))
    clock.now += 10
    forged = TokenKeys(TokenKey("nope", b"x" * 40))
    for _ in range(1000):
        with pytest.raises(InvalidNextTokenError, match="expired"):
            codec.decode(token(forged), user_id="u", ap_id=None)
    assert store.reads == 2  # the start, and one refresh for the whole burst
    clock.now += 10
    with pytest.raises(InvalidNextTokenError):
        codec.decode(token(forged), user_id="u", ap_id=None)
    assert store.reads == 3


def test_a_failed_reload_keeps_the_last_keys_logs_and_tries_again_later(caplog):
    store, clock = Store(K1), Clock()
    keys = RefreshingTokenKeys(store.load, ttl=60, min_interval=10, clock=clock)
    store.failing = True
    clock.now += 60
    with caplog.at_level(logging.WARNING, logger="query_core.tokens"):
        assert keys.keys() is K1
    assert "not reloaded" in caplog.text
    assert "unreachable" not in caplog.text  # the exception's type only, never its text
    assert keys.keys() is K1
    assert store.reads == 2  # not again within min_interval
    store.failing, store.keys = False, K2
    clock.now += 10
    assert keys.keys() is K2


def test_the_first_read_fails_loudly_and_bad_settings_are_refused():
    store = Store(K1)
    store.failing = True
    with pytest.raises(ConnectionError):
        RefreshingTokenKeys(store.load)
    with pytest.raises(ValueError, match="ttl"):
        RefreshingTokenKeys(Store(K1).load, ttl=0)
