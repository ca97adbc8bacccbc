"""The caller proof keys this function signs ``X-Caller-Proof`` with
(docs/contract.md#caller-proof), read at init and again after
``CALLER_PROOF_KEYS_TTL_SECONDS``.

With ``CALLER_PROOF_SECRET_ARN`` they come from Secrets Manager (boto3 is imported then,
and only then); in ``local`` ``CALLER_PROOF_KEYS`` may hold the JSON itself, and with
neither no proof is sent; ``production`` without the ARN has already refused to start
(``QueryLambdaSettings``). A secret that cannot be read or has the wrong shape at init is a
``SettingsError`` naming the variable and the reason, never the key; a later read that
fails keeps the keys read last and is tried again after at most 10 s.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import cache
from typing import Final

from query_core import CallerProofKeys
from query_core.aws import endpoint_url_for

from lambdas._startup import SettingsError
from lambdas.query._settings import QueryLambdaSettings, get_settings

__all__ = ["RefreshingProofKeys", "get_proof_keys", "load_proof_keys"]

_CONNECT_TIMEOUT_SECONDS: Final = 2.0
_READ_TIMEOUT_SECONDS: Final = 5.0
_ATTEMPTS: Final = 3
_RETRY_SECONDS: Final = 10.0

_log = logging.getLogger("lambdas.query")


def _read_secret(settings: QueryLambdaSettings, arn: str) -> str:
    from botocore.exceptions import BotoCoreError, ClientError
    from query_core.aws import create_client

    client = create_client(
        "secretsmanager",
        region=settings.aws_region,
        endpoint_url=endpoint_url_for(
            "production" if settings.environment == "production" else "local",
            settings.aws_endpoint_url,
        ),
        connect_timeout=_CONNECT_TIMEOUT_SECONDS,
        read_timeout=_READ_TIMEOUT_SECONDS,
        max_attempts=_ATTEMPTS,
    )
    try:
        value = client.get_secret_value(SecretId=arn)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "unknown error")
        raise SettingsError(f"CALLER_PROOF_SECRET_ARN could not be read: {code}") from None
    except BotoCoreError as exc:
        reason = type(exc).__name__
        raise SettingsError(f"CALLER_PROOF_SECRET_ARN could not be read: {reason}") from None
    text = value.get("SecretString")
    if not isinstance(text, str):
        raise SettingsError("CALLER_PROOF_SECRET_ARN holds no SecretString")
    return text


def load_proof_keys(settings: QueryLambdaSettings) -> CallerProofKeys | None:
    """The keys the settings name, or None in ``local`` without any (no proof is sent)."""
    if settings.caller_proof_secret_arn:
        name, text = (
            "CALLER_PROOF_SECRET_ARN",
            _read_secret(settings, settings.caller_proof_secret_arn),
        )
    elif settings.caller_proof_keys is not None:
        name, text = "CALLER_PROOF_KEYS", settings.caller_proof_keys
    else:
        return None
    try:
        return CallerProofKeys.from_secret_string(text)
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc}") from None


class RefreshingProofKeys:
    """The keys from ``load``, read now (its error propagates) and again once ``ttl`` old;
    a failed read keeps the last keys and is retried after ``min(10 s, ttl)``."""

    def __init__(
        self,
        load: Callable[[], CallerProofKeys | None],
        *,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._retry = min(_RETRY_SECONDS, ttl)
        self._clock = clock
        self._lock = threading.Lock()
        self._keys = load()
        self._loaded_at = self._tried_at = clock()

    def keys(self) -> CallerProofKeys | None:
        """The keys, read again first when they are older than the TTL."""
        now = self._clock()
        if now - self._loaded_at >= self._ttl and now - self._tried_at >= self._retry:
            with self._lock:
                if now - self._tried_at >= self._retry:
                    self._tried_at = now
                    try:
                        self._keys = self._load()
                    except Exception as exc:
                        _log.warning("caller proof keys not reloaded: %s", type(exc).__name__)
                    else:
                        self._loaded_at = now
        return self._keys


@cache
def get_proof_keys() -> RefreshingProofKeys:
    """The container's keys: read at init (a failure stops the start), refreshed as they age."""
    settings = get_settings()
    return RefreshingProofKeys(
        lambda: load_proof_keys(get_settings()), ttl=settings.caller_proof_keys_ttl_seconds
    )
