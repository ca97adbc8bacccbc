"""``next_token`` keys that are read again: after a TTL, and when a token names a key id
they lack (docs/contract.md#tokens).

A container that kept the keys it read at start would trust a leaked key until it is
recycled, whatever the operator rotated. ``RefreshingTokenKeys`` reads them with ``load``
(Secrets Manager, in the Lambda) at construction, again once they are ``ttl`` seconds old,
and again when a token arrives signed by an unknown key id (a rotation this container has
not seen yet), at most once every ``min_interval`` seconds so that tokens with made-up key
ids cannot turn every request into a call to the secret store. A reload that fails keeps
the keys read last and is tried again after ``min_interval``; the failure is logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Final

from query_core._tokens import TokenKeys

__all__ = ["DEFAULT_KEYS_TTL_SECONDS", "RefreshingTokenKeys"]

#: How long keys are trusted before they are read again.
DEFAULT_KEYS_TTL_SECONDS: Final = 300.0
#: The shortest time between two reads caused by unknown key ids or failed reloads.
DEFAULT_MIN_REFRESH_SECONDS: Final = 10.0

_log = logging.getLogger("query_core.tokens")


class RefreshingTokenKeys:
    """``TokenKeys`` from ``load``, read again after ``ttl`` seconds or on an unknown key id.

    ``min_interval`` defaults to 10 s, or ``ttl`` when that is shorter. The first ``load``
    runs in the constructor and its exception propagates (a function
    that cannot read its keys must not start); later failures keep the last keys.
    """

    def __init__(
        self,
        load: Callable[[], TokenKeys],
        *,
        ttl: float = DEFAULT_KEYS_TTL_SECONDS,
        min_interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min_interval is None:
            min_interval = min(DEFAULT_MIN_REFRESH_SECONDS, ttl)
        if ttl <= 0 or min_interval < 0:
            raise ValueError("ttl must be positive and min_interval not negative")
        self._load = load
        self._ttl = ttl
        self._min_interval = min_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._keys = load()
        self._loaded_at = self._tried_at = clock()

    def keys(self) -> TokenKeys:
        """The keys, read again first when they are older than the TTL."""
        now = self._clock()
        if now - self._loaded_at >= self._ttl and now - self._tried_at >= self._min_interval:
            self._reload(now, "the keys' TTL passed")
        return self._keys

    def keys_with(self, key_id: str) -> TokenKeys:
        """The keys, read again first when they lack ``key_id`` (rate-limited)."""
        keys = self.keys()
        now = self._clock()
        if keys.get(key_id) is None and now - self._tried_at >= self._min_interval:
            self._reload(now, "a token named an unknown key id")
        return self._keys

    def _reload(self, now: float, reason: str) -> None:
        with self._lock:
            if self._tried_at > now or (0 < now - self._tried_at < self._min_interval):
                return  # another thread tried meanwhile
            self._tried_at = now
            try:
                keys = self._load()
            except Exception as exc:
                _log.warning("next_token keys not reloaded (%s): %s", reason, type(exc).__name__)
                return
            self._keys = keys
            self._loaded_at = now
            _log.info("next_token keys reloaded (%s)", reason, extra={"key_id": keys.current.id})
