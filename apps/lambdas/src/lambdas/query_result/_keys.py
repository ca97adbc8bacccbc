"""The ``next_token`` keys, read when the function starts and again after
``NEXT_TOKEN_KEYS_TTL_SECONDS`` or on a token of an unknown key id (docs/contract.md#tokens).

With ``NEXT_TOKEN_SECRET_ARN`` they come from Secrets Manager (in ``local`` from the
local endpoint); without it, ``local`` takes ``NEXT_TOKEN_SECRET`` or the public local
key, and ``production`` has already refused to start (``QueryResultSettings``).
A secret that cannot be read or has the wrong shape is a ``SettingsError`` naming the
variable and the reason, never the key.
"""

from __future__ import annotations

from functools import cache
from typing import Final

from query_core import DEFAULT_TOKEN_KEYS, RefreshingTokenKeys, TokenKey, TokenKeys

from lambdas._startup import SettingsError
from lambdas.query_result._settings import QueryResultSettings, get_settings

__all__ = ["get_token_keys", "load_token_keys"]

_CONNECT_TIMEOUT_SECONDS: Final = 2.0
_READ_TIMEOUT_SECONDS: Final = 5.0
_ATTEMPTS: Final = 3


def _read_secret(settings: QueryResultSettings, arn: str) -> str:
    from botocore.exceptions import BotoCoreError, ClientError
    from query_core.aws import create_client

    client = create_client(
        "secretsmanager",
        region=settings.aws_region,
        endpoint_url=settings.endpoint_url,
        connect_timeout=_CONNECT_TIMEOUT_SECONDS,
        read_timeout=_READ_TIMEOUT_SECONDS,
        max_attempts=_ATTEMPTS,
    )
    try:
        value = client.get_secret_value(SecretId=arn)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "unknown error")
        raise SettingsError(f"NEXT_TOKEN_SECRET_ARN could not be read: {code}") from None
    except BotoCoreError as exc:
        reason = type(exc).__name__
        raise SettingsError(f"NEXT_TOKEN_SECRET_ARN could not be read: {reason}") from None
    text = value.get("SecretString")
    if not isinstance(text, str):
        raise SettingsError("NEXT_TOKEN_SECRET_ARN holds no SecretString")
    return text


def load_token_keys(settings: QueryResultSettings) -> TokenKeys:
    """The keys the settings name (see the module's docstring)."""
    if settings.next_token_secret_arn:
        text = _read_secret(settings, settings.next_token_secret_arn)
        try:
            return TokenKeys.from_secret_string(text)
        except ValueError as exc:
            raise SettingsError(f"NEXT_TOKEN_SECRET_ARN: {exc}") from None
    if settings.environment == "production":  # pragma: no cover - the settings refuse it
        raise SettingsError("NEXT_TOKEN_SECRET_ARN must be set when ENVIRONMENT=production")
    if settings.next_token_secret is not None:
        return TokenKeys(TokenKey("local", settings.next_token_secret.get_secret_value().encode()))
    return DEFAULT_TOKEN_KEYS


@cache
def get_token_keys() -> RefreshingTokenKeys:
    """The container's keys: read now (a failure stops the start), refreshed as they age."""
    settings = get_settings()
    return RefreshingTokenKeys(
        lambda: load_token_keys(get_settings()), ttl=settings.next_token_keys_ttl_seconds
    )
