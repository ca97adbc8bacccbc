"""The opaque ``next_token``: a page position bound to the query that produced it.

See docs/contract.md#tokens. A token is ``<key id>.<payload>.<mac>``: the id of the
key that signed it, the last ``result_id`` of the page (base64url), and an HMAC-SHA256
(128 bits, base64url) over the key id, the position *and* the ``user_id`` and ``ap_id``
of the request. A token that was cut or edited, produced for another user or another
``ap_id``, or signed by a key that is no longer accepted is rejected with
``InvalidNextTokenError`` (400), and so is a position that breaks the table's key
rules (a ULID ``result_id``, at most 1,024 bytes), before any call to DynamoDB.

Keys rotate: ``TokenKeys`` holds the current key, which signs, and the previous one,
which is still accepted, so that a token issued just before a rotation keeps working
for one rotation. In production the keys come from Secrets Manager
(``TokenKeys.from_secret_string``); ``DEFAULT_TOKEN_KEYS`` is a public key for local
use only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from query_core._exceptions import InvalidNextTokenError

if TYPE_CHECKING:
    from query_core._token_refresh import RefreshingTokenKeys

__all__ = [
    "DEFAULT_TOKEN_KEY",
    "DEFAULT_TOKEN_KEYS",
    "MIN_SECRET_KEY_CHARS",
    "PageTokenCodec",
    "TokenKey",
    "TokenKeys",
]

#: The public key of local runs: tokens are tamper-evident, not secret. Never for production.
DEFAULT_TOKEN_KEY: Final = b"query-core/next-token/v1"
#: The shortest key accepted from a secret (characters).
MIN_SECRET_KEY_CHARS: Final = 32
_MAC_BYTES: Final = 16
_KEY_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: A ULID: 26 characters of Crockford's base32, the first at most 7 (48-bit time).
_ULID: Final = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
#: DynamoDB's limit on a sort key value.
_MAX_SORT_KEY_BYTES: Final = 1024

_MALFORMED: Final = "next_token is malformed"
_FOREIGN: Final = (
    "next_token is not valid for this query: it was altered, or it belongs "
    "to another user_id or ap_id"
)
_EXPIRED: Final = (
    "next_token has expired: its key has been rotated out; start again without next_token"
)


@dataclass(frozen=True, slots=True)
class TokenKey:
    """One HMAC key and its id (``[A-Za-z0-9_-]{1,64}``); the secret never shows in a repr."""

    id: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not _KEY_ID.fullmatch(self.id):
            raise ValueError(
                f"a next_token key id must match [A-Za-z0-9_-]{{1,64}}, not {self.id!r}"
            )
        if not self.secret:
            raise ValueError("the next_token key must not be empty")


@dataclass(frozen=True, slots=True)
class TokenKeys:
    """The key that signs new tokens, and the previous one, still accepted after a rotation."""

    current: TokenKey
    previous: TokenKey | None = None

    def __post_init__(self) -> None:
        if self.previous is not None and self.previous.id == self.current.id:
            raise ValueError("the current and the previous next_token keys need different ids")

    def get(self, key_id: str) -> TokenKey | None:
        """The accepted key of that id, if any."""
        for key in (self.current, self.previous):
            if key is not None and hmac.compare_digest(key.id, key_id):
                return key
        return None

    @classmethod
    def from_secret_string(cls, text: str) -> TokenKeys:
        """Keys from a secret's JSON: ``{"current": {"id", "key"}, "previous": {"id", "key"}}``.

        ``previous`` may be missing or null (before the first rotation). The secret as
        Secrets Manager generates it at creation, ``{"id", "key"}``, is one current key.
        Each ``key`` is text of at least ``MIN_SECRET_KEY_CHARS`` characters, used as its
        UTF-8 bytes. Raises ``ValueError`` with one line naming what is wrong (never the key).
        """
        try:
            document = json.loads(text)
        except ValueError:
            raise ValueError("the next_token secret is not JSON") from None
        if not isinstance(document, dict):
            raise ValueError("the next_token secret must be a JSON object")  # noqa: TRY004
        if "current" not in document and {"id", "key"} <= document.keys():
            document = {"current": {"id": document["id"], "key": document["key"]}}
        current = _key_from(document.get("current"), "current")
        if current is None:
            raise ValueError('the next_token secret has no "current" key')
        return cls(current, _key_from(document.get("previous"), "previous"))


def _key_from(entry: Any, name: str) -> TokenKey | None:
    if entry is None:
        return None
    if not isinstance(entry, dict):
        message = f'the next_token secret\'s "{name}" must be an object with "id" and "key"'
        raise ValueError(message)  # noqa: TRY004 - the secret's content, reported as a value
    key_id, key = entry.get("id"), entry.get("key")
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise ValueError(f'the next_token secret\'s "{name}.id" must match [A-Za-z0-9_-]{{1,64}}')
    if not isinstance(key, str) or len(key) < MIN_SECRET_KEY_CHARS:
        raise ValueError(
            f'the next_token secret\'s "{name}.key" must be text of at least '
            f"{MIN_SECRET_KEY_CHARS} characters"
        )
    return TokenKey(key_id, key.encode())


#: The keys of local runs (``DEFAULT_TOKEN_KEY``, id ``local``).
DEFAULT_TOKEN_KEYS: Final = TokenKeys(TokenKey("local", DEFAULT_TOKEN_KEY))


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _is_valid_position(result_id: str) -> bool:
    """The table's key rules for a sort key value: a ULID, within DynamoDB's 1,024 bytes."""
    return len(result_id.encode()) <= _MAX_SORT_KEY_BYTES and _ULID.fullmatch(result_id) is not None


class PageTokenCodec:
    """Encodes and checks ``next_token`` values with rotating HMAC keys.

    ``keys`` may be a bare key (bytes): it is then the only key, with id ``local``; or
    ``RefreshingTokenKeys``, asked for the keys on every use (and, for a token whose key id
    they lack, asked to read them again before the token is called expired).
    """

    def __init__(self, keys: TokenKeys | bytes | RefreshingTokenKeys = DEFAULT_TOKEN_KEYS) -> None:
        if isinstance(keys, bytes):
            keys = TokenKeys(TokenKey("local", keys))
        self._source = keys

    def _current_keys(self) -> TokenKeys:
        source = self._source
        return source if isinstance(source, TokenKeys) else source.keys()

    def _key(self, key_id: str) -> TokenKey | None:
        source = self._source
        if isinstance(source, TokenKeys):
            return source.get(key_id)
        return source.keys_with(key_id).get(key_id)

    @staticmethod
    def has_shape(token: str) -> bool:
        """Whether ``token`` is spelled as this codec's tokens are (a key id, a ULID
        position, a 16-byte MAC), checked without any key: it tells this service's tokens
        from another system's (the Query Lambda routes a page to the side that issued it,
        docs/decisions/0011-canary-pages-follow-their-token.md)."""
        parts = token.split(".")
        if len(parts) != 3 or not _KEY_ID.fullmatch(parts[0]):
            return False
        _, payload, mac_text = parts
        try:
            mac, position = _b64decode(mac_text), _b64decode(payload).decode()
        except (binascii.Error, ValueError):
            return False
        return (
            len(mac) == _MAC_BYTES
            and _b64encode(mac) == mac_text
            and _b64encode(position.encode()) == payload
            and _is_valid_position(position)
        )

    @staticmethod
    def _mac(key: TokenKey, user_id: str, ap_id: str | None, payload: str) -> bytes:
        message = json.dumps(["v2", key.id, user_id, ap_id, payload], separators=(",", ":"))
        return hmac.new(key.secret, message.encode(), hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, *, user_id: str, ap_id: str | None, result_id: str) -> str:
        """The token that resumes the query of ``user_id``/``ap_id`` after ``result_id``."""
        key = self._current_keys().current
        payload = _b64encode(result_id.encode())
        return f"{key.id}.{payload}.{_b64encode(self._mac(key, user_id, ap_id, payload))}"

    def decode(self, token: str, *, user_id: str, ap_id: str | None) -> str:
        """The ``result_id`` a token resumes after, if it belongs to this query.

        Checked in order: the shape, the key id (an unknown one has expired), the MAC,
        and the position against the table's key rules.
        """
        parts = token.split(".")
        if len(parts) != 3 or not all(parts):
            raise InvalidNextTokenError(_MALFORMED)
        key_id, payload, mac_text = parts
        try:
            mac = _b64decode(mac_text)
            raw_position = _b64decode(payload)
            result_id = raw_position.decode()
        except (binascii.Error, ValueError) as exc:
            raise InvalidNextTokenError(_MALFORMED) from exc
        # base64 ignores the spare bits of its last character: insist on the one spelling.
        if _b64encode(mac) != mac_text or _b64encode(raw_position) != payload:
            raise InvalidNextTokenError(_MALFORMED)
        if not _KEY_ID.fullmatch(key_id):
            raise InvalidNextTokenError(_MALFORMED)
        key = self._key(key_id)
        if key is None:
            raise InvalidNextTokenError(_EXPIRED)
        if not hmac.compare_digest(mac, self._mac(key, user_id, ap_id, payload)):
            raise InvalidNextTokenError(_FOREIGN)
        if not _is_valid_position(result_id):
            raise InvalidNextTokenError(_MALFORMED)
        return result_id
