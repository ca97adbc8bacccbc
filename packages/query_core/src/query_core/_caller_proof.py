"""The caller proof: the Query Lambda's HMAC that the service checks before it trusts
``X-Caller-Id`` (docs/contract.md#caller-proof, docs/decisions/0013-caller-proof.md).

The header ``X-Caller-Proof`` is ``v1.<unix seconds>.<mac>``: an HMAC-SHA256 (base64url, no
padding) over the version, the time, the request's ``X-Request-Id`` and the caller, with a
key the Query Lambda and the service share (a Secrets Manager secret). A proof names one
request of one caller and is refused once it is more than ``skew`` seconds away from the
checker's clock, so a captured proof is worth one request id for about a minute.

``CallerProofKeys`` holds one or more keys: the first signs, every one verifies, so that a
rotation lets both sides move to the new key one after the other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "CALLER_PROOF_HEADER",
    "DEFAULT_CALLER_PROOF_SKEW_SECONDS",
    "MIN_CALLER_PROOF_KEY_CHARS",
    "CallerProofKeys",
]

#: The header that carries the proof beside ``X-Caller-Id``.
CALLER_PROOF_HEADER: Final = "X-Caller-Proof"
#: How far (seconds) a proof's time may be from the checker's clock, either way.
DEFAULT_CALLER_PROOF_SKEW_SECONDS: Final = 60.0
#: The shortest key accepted (characters, used as their UTF-8 bytes).
MIN_CALLER_PROOF_KEY_CHARS: Final = 32
#: The most keys a secret may hold (a rotation needs two; each one costs a MAC per check).
_MAX_KEYS: Final = 3
_VERSION: Final = "v1"
_PROOF: Final = re.compile(r"v1\.(0|[1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})")


def _mac(key: bytes, timestamp: int, request_id: str, caller: str) -> bytes:
    message = json.dumps([_VERSION, timestamp, request_id, caller], separators=(",", ":"))
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class CallerProofKeys:
    """The shared keys: ``keys[0]`` signs, every key verifies. Never shown in a repr."""

    keys: tuple[bytes, ...] = field(repr=False)

    def __post_init__(self) -> None:
        if not 0 < len(self.keys) <= _MAX_KEYS or not all(self.keys):
            raise ValueError(f"the caller proof needs 1 to {_MAX_KEYS} non-empty keys")

    def sign(self, caller: str, request_id: str, now: float) -> str:
        """The ``X-Caller-Proof`` value for ``caller``'s request ``request_id`` at ``now``."""
        timestamp = int(now)
        mac = _mac(self.keys[0], timestamp, request_id, caller)
        return f"{_VERSION}.{timestamp}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    def verify(
        self,
        value: str | None,
        caller: str,
        request_id: str,
        now: float,
        skew: float = DEFAULT_CALLER_PROOF_SKEW_SECONDS,
    ) -> bool:
        """Whether ``value`` proves ``caller`` for ``request_id`` within ``skew`` of ``now``.

        A missing or malformed value, a time too old or too far ahead, or a MAC made for
        another request, caller or key is False; the MACs are compared in constant time.
        """
        match = _PROOF.fullmatch(value) if value else None
        if match is None:
            return False
        timestamp = int(match[1])
        if abs(now - timestamp) > skew:
            return False
        try:
            mac = base64.urlsafe_b64decode(match[2] + "=")
        except binascii.Error:  # pragma: no cover - the pattern admits only base64url
            return False
        if base64.urlsafe_b64encode(mac).rstrip(b"=").decode() != match[2]:
            return False  # the spare bits of the last character: one spelling only
        valid = False
        for key in self.keys:  # every key, so that the time taken says nothing of which
            valid |= hmac.compare_digest(mac, _mac(key, timestamp, request_id, caller))
        return valid

    @classmethod
    def from_secret_string(cls, text: str) -> CallerProofKeys:
        """Keys from a secret's JSON: ``{"keys": ["<new>", "<old>"]}``, the first signing.

        ``{"key": "<text>"}``, the secret as Secrets Manager generates it at creation, is
        one key. Each key is text of at least ``MIN_CALLER_PROOF_KEY_CHARS`` characters,
        used as its UTF-8 bytes. Raises ``ValueError`` with one line naming what is wrong,
        never a key.
        """
        try:
            document: Any = json.loads(text)
        except ValueError:
            raise ValueError("the caller proof secret is not JSON") from None
        if not isinstance(document, dict):
            raise ValueError("the caller proof secret must be a JSON object")  # noqa: TRY004
        if "keys" in document:
            keys = document["keys"]
        elif "key" in document:
            keys = [document["key"]]
        else:
            raise ValueError('the caller proof secret has no "keys" (or "key")')
        if not isinstance(keys, list) or not 0 < len(keys) <= _MAX_KEYS:
            raise ValueError(f'the caller proof secret\'s "keys" must list 1 to {_MAX_KEYS} keys')
        for index, key in enumerate(keys):
            if not isinstance(key, str) or len(key) < MIN_CALLER_PROOF_KEY_CHARS:
                raise ValueError(
                    f"the caller proof secret's key {index + 1} must be text of at least "
                    f"{MIN_CALLER_PROOF_KEY_CHARS} characters"
                )
        return cls(tuple(key.encode() for key in keys))
