"""The Query Lambda's settings, from the environment, checked by hand once, with one clear
error naming the variable; no pydantic (docs/decisions/0004-query-lambda-without-pydantic.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Final, overload

from lambdas._startup import SettingsError

__all__ = ["LOCAL_SERVICE_URL", "QueryLambdaSettings", "SettingsError", "get_settings"]

LOCAL_SERVICE_URL: Final = "http://127.0.0.1:8000"
_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
_CLAIM: Final = re.compile(r"[A-Za-z0-9_:.\-]{1,128}")
#: A REST API id as API Gateway writes it in ``requestContext.apiId`` (``local`` locally).
_API_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: The event shapes API Gateway can send this function (a direct invocation never).
_SOURCES: Final = ("rest_v1", "http_v2")


def _sources(environ: Mapping[str, str]) -> tuple[str, ...]:
    raw = environ.get("EVENT_SOURCES") or "rest_v1"
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    if not names or any(name not in _SOURCES for name in names):
        raise SettingsError(f"EVENT_SOURCES must list some of rest_v1, http_v2, not {raw!r}")
    return names


def _seconds(environ: Mapping[str, str], name: str, default: float, upper: float) -> float:
    raw = environ.get(name) or str(default)
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not 0 < value < upper:
        raise SettingsError(f"{name} must be between 0 and {upper:g} seconds, not {raw}")
    return value


@overload
def _url(environ: Mapping[str, str], name: str) -> str | None: ...
@overload
def _url(environ: Mapping[str, str], name: str, default: str) -> str: ...
def _url(environ: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    raw = environ.get(name) or default
    if raw is None:
        return None
    if not raw.startswith(("http://", "https://")):
        raise SettingsError(f"{name} must be an http(s):// URL, not {raw!r}")
    return raw.rstrip("/")


@dataclass(frozen=True, slots=True)
class QueryLambdaSettings:
    """Environment variables of the Query Lambda."""

    environment: str = field(
        default="local",
        metadata={"description": "`production` on AWS; `local` for the local stack."},
    )
    eks_handler_url: str = field(
        default=LOCAL_SERVICE_URL,
        metadata={
            "description": "Base URL of the query service; the name is kept for compatibility "
            "and now points at the internal ALB. Required in `production`."
        },
    )
    forward_timeout_seconds: float = field(
        default=25.0,
        metadata={"description": "Deadline of the forwarded call (API Gateway gives up at 29 s)."},
    )
    forward_connect_timeout_seconds: float = field(
        default=2.0, metadata={"description": "Deadline of the TCP connect to the service."}
    )
    log_level: str = field(
        default="INFO", metadata={"description": "DEBUG, INFO, WARNING or ERROR."}
    )
    owner_claim: str | None = field(
        default=None,
        metadata={
            "description": "The authorizer's claim (Cognito) or context key (Lambda authorizer) "
            "that names the caller, sent to the service as `X-Caller-Id`; unset: `sub` or "
            "`principalId`. An IAM caller is its principal's unique id (`caller` up to its "
            "colon), never its session name; any other value names no IAM caller."
        },
    )
    event_sources: tuple[str, ...] = field(
        default=("rest_v1",),
        metadata={
            "description": "The event shapes this function answers, comma-separated: `rest_v1` "
            "(the public REST API) or also `http_v2` (an HTTP API in front); any other event is "
            "400 `unsupported event`."
        },
    )

    public_api_id: str | None = field(
        default=None,
        metadata={
            "description": "The public API's id: an event whose `requestContext.apiId` is "
            "another is 403 (docs/contract.md#side-doors). Required in `production`; unset "
            "in `local`, any API's event is taken."
        },
    )
    caller_proof_secret_arn: str | None = field(
        default=None,
        metadata={
            "description": "The Secrets Manager secret of the caller proof keys "
            '(`{"keys": [...]}`), read at start and again after `CALLER_PROOF_KEYS_TTL_SECONDS`; '
            "each `X-Caller-Id` goes with an `X-Caller-Proof` signed with its first key "
            "(docs/contract.md#caller-proof). Required in `production`."
        },
    )
    caller_proof_keys: str | None = field(
        default=None,
        repr=False,
        metadata={
            "description": "`local` only, instead of the secret: the keys' JSON itself. "
            "Neither set in `local`: no proof is sent."
        },
    )
    caller_proof_keys_ttl_seconds: float = field(
        default=300.0,
        metadata={"description": "The caller proof keys are read again once this old."},
    )
    aws_region: str = field(
        default="us-east-1", metadata={"description": "The secret's region (Lambda's own)."}
    )
    aws_endpoint_url: str | None = field(
        default=None,
        metadata={"description": "AWS endpoint for `local`; ignored in `production`."},
    )

    service_url: str | None = field(
        default=None,
        metadata={
            "description": "While both targets serve (with `OLD_EKS_HANDLER_URL`): the internal "
            "ALB, where a page whose `next_token` this service issued goes."
        },
    )
    old_eks_handler_url: str | None = field(
        default=None,
        metadata={
            "description": "While both targets serve (with `SERVICE_URL`): the old EKS handler, "
            "where a page whose `next_token` it issued goes "
            "(docs/decisions/0011-canary-pages-follow-their-token.md)."
        },
    )

    @property
    def both_targets(self) -> tuple[str, str] | None:
        """``(service, old handler)`` while a page may follow its token to either, else None."""
        if self.service_url is None or self.old_eks_handler_url is None:
            return None
        return self.service_url, self.old_eks_handler_url

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> QueryLambdaSettings:
        """Read and check the variables; ``SettingsError`` names the first bad one."""
        env = os.environ if environ is None else environ
        environment = env.get("ENVIRONMENT") or "local"
        if environment not in ("local", "production"):
            raise SettingsError(f"ENVIRONMENT must be 'local' or 'production', not {environment!r}")
        url = env.get("EKS_HANDLER_URL") or ""
        if not url:
            if environment == "production":
                raise SettingsError("EKS_HANDLER_URL must be set when ENVIRONMENT=production")
            url = LOCAL_SERVICE_URL
        url = _url(env, "EKS_HANDLER_URL", url)
        service, old = _url(env, "SERVICE_URL"), _url(env, "OLD_EKS_HANDLER_URL")
        if (service is None) != (old is None):
            raise SettingsError(
                "SERVICE_URL and OLD_EKS_HANDLER_URL are set together or not at all"
            )
        level = (env.get("LOG_LEVEL") or "INFO").upper()
        if level not in _LEVELS:
            raise SettingsError(f"LOG_LEVEL must be one of {', '.join(_LEVELS)}, not {level!r}")
        claim = env.get("OWNER_CLAIM") or None
        if claim is not None and not _CLAIM.fullmatch(claim):
            raise SettingsError(f"OWNER_CLAIM must be a claim name such as 'sub', not {claim!r}")
        api_id = env.get("PUBLIC_API_ID") or None
        if api_id is None and environment == "production":
            raise SettingsError("PUBLIC_API_ID must be set when ENVIRONMENT=production")
        if api_id is not None and not _API_ID.fullmatch(api_id):
            raise SettingsError(f"PUBLIC_API_ID must be a REST API id, not {api_id!r}")
        proof_arn = env.get("CALLER_PROOF_SECRET_ARN") or None
        proof_keys = env.get("CALLER_PROOF_KEYS") or None
        if environment == "production":
            if proof_arn is None:
                raise SettingsError(
                    "CALLER_PROOF_SECRET_ARN must be set when ENVIRONMENT=production"
                )
            proof_keys = None
        return cls(
            environment=environment,
            public_api_id=api_id,
            caller_proof_secret_arn=proof_arn,
            caller_proof_keys=proof_keys,
            caller_proof_keys_ttl_seconds=_seconds(
                env, "CALLER_PROOF_KEYS_TTL_SECONDS", 300.0, 3601.0
            ),
            aws_region=env.get("AWS_REGION") or "us-east-1",
            aws_endpoint_url=_url(env, "AWS_ENDPOINT_URL"),
            eks_handler_url=url,
            forward_timeout_seconds=_seconds(env, "FORWARD_TIMEOUT_SECONDS", 25.0, 29.0),
            forward_connect_timeout_seconds=_seconds(
                env, "FORWARD_CONNECT_TIMEOUT_SECONDS", 2.0, 29.0
            ),
            log_level=level,
            owner_claim=claim,
            service_url=service,
            old_eks_handler_url=old,
            event_sources=_sources(env),
        )


@cache
def get_settings() -> QueryLambdaSettings:
    """The settings, read once per container."""
    return QueryLambdaSettings.from_environ()
