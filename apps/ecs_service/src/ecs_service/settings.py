"""The service's settings: environment variables, validated once at start.

See docs/contract.md#configuration.
"""

from __future__ import annotations

from functools import cache
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from query_core import CallerProofKeys
from query_core.aws import endpoint_url_for

__all__ = ["ServiceSettings", "get_settings"]


class ServiceSettings(BaseSettings):
    """Environment variables of the ECS service (names are the field names, upper-case)."""

    # No input in an error's text: CALLER_PROOF_KEYS holds a key, and a traceback would print it.
    model_config = SettingsConfigDict(
        extra="ignore", frozen=True, env_ignore_empty=True, hide_input_in_errors=True
    )

    environment: Literal["local", "production"] = Field(
        default="local",
        description="`production` on AWS; `local` for the local stack. `production` also "
        "turns off `/docs`, `/redoc` and `/openapi.json`.",
    )
    internal_api_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Base URL of the private API, stage included; required in production.",
    )
    internal_api_auth: Literal["none", "iam"] = Field(
        default="none", description="`iam` signs requests with SigV4 for `execute-api`."
    )
    result_source: Literal["internal_api", "lambda"] = Field(
        default="internal_api",
        description="`lambda` is the legacy direct invocation, kept for rollback.",
    )
    query_result_lambda_name: str | None = Field(
        default=None, description="The Query Result Lambda, with `RESULT_SOURCE=lambda`."
    )
    aws_region: str = Field(default="us-east-1", description="Region for SigV4 and Lambda.")
    upstream_deadline_seconds: float = Field(
        default=10.0,
        gt=0,
        lt=29,
        description="Overall deadline of one request's upstream work: every attempt and pause "
        "(under API Gateway's 29 s integration limit). Past it: 504.",
    )
    upstream_attempt_timeout_seconds: float = Field(
        default=5.0, gt=0, lt=29, description="Longest single attempt; a hung one is retried."
    )
    upstream_connect_timeout_seconds: float = Field(
        default=2.0, gt=0, lt=29, description="TCP/TLS connect timeout of one attempt."
    )
    upstream_max_attempts: int = Field(
        default=3, ge=1, le=10, description="Attempts per request (1 = no retries)."
    )
    upstream_resilience: bool = Field(
        default=True,
        description="Retries, retry budget and circuit breaker; off = one attempt per request.",
    )
    retry_budget_capacity: int = Field(
        default=500, ge=0, description="Token bucket of the process's retries (5 per retry)."
    )
    breaker_failure_threshold: int = Field(
        default=5, ge=1, description="Failed requests in a row that open the circuit."
    )
    breaker_reset_seconds: float = Field(
        default=10.0, gt=0, description="Cool-down before an open circuit lets a probe through."
    )
    aws_endpoint_url: str | None = Field(
        default=None,
        description="AWS endpoint for `local` (the Lambda source); ignored in production.",
    )
    upstream_max_connections: int = Field(
        default=100, ge=1, le=10_000, description="Pooled connections to the internal API."
    )
    owner_check: bool = Field(
        default=False,
        description="Answer 403 unless the body's `user_id` is the caller's identity, which the "
        "Query Lambda forwards in `X-Caller-Id` from the authorizer's context "
        "(docs/contract.md#ownership); a request without that header is refused too. Turn it on "
        "whenever the public API authenticates callers.",
    )
    caller_proof_keys: SecretStr | None = Field(
        default=None,
        description='The caller proof secret\'s JSON (`{"keys": [...]}`), which ECS injects '
        "from Secrets Manager: `X-Caller-Id` then counts only with the Query Lambda's valid "
        "`X-Caller-Proof`, else 401 (docs/contract.md#caller-proof). Required in production "
        "with `OWNER_CHECK=true` unless `CALLER_PROOF_REQUIRED=false`.",
    )
    caller_proof_required: bool | None = Field(
        default=None,
        description="Check the caller proof; unset: whenever `CALLER_PROOF_KEYS` is set, and "
        "always in production with `OWNER_CHECK=true`. `false` trusts any peer's `X-Caller-Id`.",
    )
    owner_claim: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_:.\-]{1,128}$",
        description="On Lambda (the Mangum entry) only: the authorizer's claim that names the "
        "caller, as the Query Lambda's `OWNER_CLAIM`; unset: `sub` or `principalId`.",
    )
    hot_path: bool = Field(
        default=True,
        description="`POST /query/result` dispatched straight to its endpoint, in front of "
        "FastAPI (same answers, a fifth less CPU per request); turn it off when something "
        "instruments the FastAPI app (tracing), so that every request goes through FastAPI.",
    )
    host: str = Field(default="127.0.0.1", description="Where uvicorn listens (0.0.0.0 in ECS).")
    port: int = Field(default=8000, ge=1, le=65535, description="Where uvicorn listens.")
    workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Level of the JSON log lines."
    )

    @model_validator(mode="after")
    def _production_needs_its_settings(self) -> Self:
        if self.environment == "production":
            if self.result_source == "internal_api" and not self.internal_api_url:
                raise ValueError("INTERNAL_API_URL must be set when ENVIRONMENT=production")
            if self.internal_api_url and not self.internal_api_url.startswith("https://"):
                raise ValueError("INTERNAL_API_URL must be https:// when ENVIRONMENT=production")
        if self.result_source == "lambda" and not self.query_result_lambda_name:
            raise ValueError("QUERY_RESULT_LAMBDA_NAME must be set when RESULT_SOURCE=lambda")
        if self.upstream_attempt_timeout_seconds > self.upstream_deadline_seconds:
            raise ValueError("UPSTREAM_ATTEMPT_TIMEOUT_SECONDS must not exceed the deadline")
        if self.caller_proof_keys is not None:
            try:
                CallerProofKeys.from_secret_string(self.caller_proof_keys.get_secret_value())
            except ValueError as exc:
                raise ValueError(f"CALLER_PROOF_KEYS: {exc}") from None
        elif self.caller_proof_enforced:
            raise ValueError(
                "CALLER_PROOF_KEYS must be set when "
                + (
                    "CALLER_PROOF_REQUIRED=true"
                    if self.caller_proof_required
                    else "ENVIRONMENT=production and OWNER_CHECK=true"
                )
                + " (or set CALLER_PROOF_REQUIRED=false: any peer may then name any caller)"
            )
        return self

    @property
    def caller_proof_enforced(self) -> bool:
        """Whether ``X-Caller-Id`` needs the Query Lambda's proof (see the two fields)."""
        if self.caller_proof_required is not None:
            return self.caller_proof_required
        return self.caller_proof_keys is not None or (
            self.environment == "production" and self.owner_check
        )

    @property
    def proof_keys(self) -> CallerProofKeys | None:
        """The keys that check the caller proof, when it is enforced (validated at start)."""
        if not self.caller_proof_enforced or self.caller_proof_keys is None:
            return None
        return CallerProofKeys.from_secret_string(self.caller_proof_keys.get_secret_value())

    @property
    def aws_endpoint(self) -> str | None:
        """The AWS endpoint: the override (LocalStack's when unset) in `local`, AWS's own in
        `production` (``query_core.aws.endpoint_url_for``, the rule of every component)."""
        return endpoint_url_for(self.environment, self.aws_endpoint_url)

    @property
    def upstream_url(self) -> str:
        """The internal API's base URL (the local stack's default in `local`)."""
        return self.internal_api_url or "http://127.0.0.1:8001/prod"


@cache
def get_settings() -> ServiceSettings:
    """The settings, read from the environment once."""
    return ServiceSettings()
