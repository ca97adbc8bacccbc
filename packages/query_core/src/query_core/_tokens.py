"""The opaque ``next_token``: a page position bound to the query that produced it.

A token is ``<payload>.<mac>``, both base64url without padding. The payload holds
the last ``result_id`` of the page; the MAC (HMAC-SHA256, 128 bits) covers that
position *and* the ``user_id`` and ``ap_id`` of the request. A token that was cut,
edited, or produced for another user or another ``ap_id`` fails the MAC check and
is rejected with ``InvalidNextTokenError``.

The key makes tokens unforgeable only when it is secret. The result query carries
``user_id`` in its body, so the binding protects correctness (a page position is
only ever applied to the query it came from), not access; a secret key is still
worth setting so that positions cannot be crafted by hand.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Final

from query_core._exceptions import InvalidNextTokenError

__all__ = ["DEFAULT_TOKEN_KEY", "PageTokenCodec"]

#: The key used when none is configured: tokens are tamper-evident, not secret.
DEFAULT_TOKEN_KEY: Final = b"query-core/next-token/v1"
_MAC_BYTES: Final = 16


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PageTokenCodec:
    """Encodes and checks ``next_token`` values with one HMAC key."""

    def __init__(self, key: bytes = DEFAULT_TOKEN_KEY) -> None:
        if not key:
            raise ValueError("the next_token key must not be empty")
        self._key = key

    def _mac(self, user_id: str, ap_id: str | None, payload: str) -> bytes:
        message = json.dumps(["v1", user_id, ap_id, payload], separators=(",", ":")).encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, *, user_id: str, ap_id: str | None, result_id: str) -> str:
        """The token that resumes the query of ``user_id``/``ap_id`` after ``result_id``."""
        payload = _b64encode(result_id.encode())
        return f"{payload}.{_b64encode(self._mac(user_id, ap_id, payload))}"

    def decode(self, token: str, *, user_id: str, ap_id: str | None) -> str:
        """The ``result_id`` a token resumes after, if it belongs to this query."""
        payload, dot, mac_text = token.partition(".")
        if not dot or not payload or not mac_text:
            raise InvalidNextTokenError("next_token is malformed")
        try:
            mac = _b64decode(mac_text)
            raw_position = _b64decode(payload)
            result_id = raw_position.decode()
        except (binascii.Error, ValueError) as exc:
            raise InvalidNextTokenError("next_token is malformed") from exc
        # base64 ignores the spare bits of its last character: insist on the one spelling.
        if _b64encode(mac) != mac_text or _b64encode(raw_position) != payload:
            raise InvalidNextTokenError("next_token is malformed")
        if not hmac.compare_digest(mac, self._mac(user_id, ap_id, payload)) or not result_id:
            raise InvalidNextTokenError(
                "next_token is not valid for this query: it was altered, or it belongs "
                "to another user_id or ap_id"
            )
        return result_id
