"""The Query Result Lambda's settings, read once from the environment."""

from __future__ import annotations

from functools import cache
from typing import Literal, Self, get_args

from pydantic import Field, SecretStr, field_validator, model_validator
from query_core.aws import endpoint_url_for
from query_core.events import EventSource

from lambdas._env import EnvSettings

__all__ = ["QueryResultSettings", "get_settings"]


class QueryResultSettings(EnvSettings):
    """Environment variables of the Query Result Lambda (names are the field names, upper-case)."""

    environment: Literal["local", "production"] = Field(
        default="local", description="`production` on AWS; `local` for the local stack."
    )
    results_table_name: str = Field(
        default="query-results", min_length=3, description="The DynamoDB results table."
    )
    aws_endpoint_url: str | None = Field(
        default=None,
        description="AWS endpoint for `local` (LocalStack's when unset); ignored in `production`.",
    )
    aws_region: str = Field(
        default="us-east-1",
        description="The region of the table; Lambda sets `AWS_REGION` itself.",
    )
    next_token_secret_arn: str | None = Field(
        default=None,
        description="Secrets Manager secret holding the `next_token` keys, read once at start: "
        '`{"current": {"id", "key"}, "previous": {"id", "key"}}`. Required in `production`.',
    )
    next_token_secret: SecretStr | None = Field(
        default=None,
        description="A literal `next_token` key for `local` (ignored in `production`); "
        "unset, `local` uses a public key: tokens are tamper-evident, not secret.",
    )
    # One DynamoDB call, retries included, must end inside one attempt of the service
    # (UPSTREAM_ATTEMPT_TIMEOUT_SECONDS): docs/contract.md#timeouts gives every hop's budget.
    dynamodb_connect_timeout_seconds: float = Field(
        default=0.5, gt=0, le=10, description="Connect timeout of each DynamoDB call."
    )
    dynamodb_read_timeout_seconds: float = Field(
        default=1.0, gt=0, le=25, description="Read timeout of each DynamoDB call."
    )
    dynamodb_max_attempts: int = Field(
        default=2, ge=1, le=10, description="botocore standard-mode attempts per DynamoDB call."
    )
    filter_max_round_trips: int = Field(
        default=5, ge=1, le=50, description="Queries per page at most when `ap_id` filters."
    )
    filter_time_budget_seconds: float = Field(
        default=0.5,
        gt=0,
        le=25,
        description="When `ap_id` filters: no further `Query` once the page has taken this "
        "long; the page ends early with a `next_token`.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Level of the JSON log lines."
    )
    filter_max_read_units: float = Field(
        default=16.0,
        gt=0,
        le=1000,
        description="When `ap_id` filters: no further `Query` once the page has consumed this "
        "many read units (DynamoDB's `ConsumedCapacity`); the page ends early with a "
        "`next_token`.",
    )
    next_token_keys_ttl_seconds: float = Field(
        default=300.0,
        gt=0,
        le=3600,
        description="The `next_token` keys are read again once this old, and at once when a "
        "token names a key id they lack (at most every 10 s).",
    )
    event_sources: str | None = Field(
        default=None,
        description="The event shapes this function answers, comma-separated: `rest_v1` (the "
        "private REST API), `http_v2` (an HTTP API), `direct` (the legacy invoke path); any "
        "other event is 400 `unsupported event`. Unset: `rest_v1` in `production` (the stack "
        "adds `direct` only with `enableLambdaRollbackSource`), `rest_v1,direct` in `local` "
        "(docs/contract.md#side-doors).",
    )

    @model_validator(mode="after")
    def _production_needs_the_token_keys(self) -> Self:
        if self.environment == "production" and not self.next_token_secret_arn:
            raise ValueError("NEXT_TOKEN_SECRET_ARN must be set when ENVIRONMENT=production")
        return self

    @field_validator("event_sources")
    @classmethod
    def _known_sources(cls, value: str | None) -> str | None:
        if value is None:
            return None
        names = [name.strip() for name in value.split(",") if name.strip()]
        unknown = sorted(set(names) - set(get_args(EventSource.__value__)))
        if not names or unknown:
            raise ValueError(
                "must list some of rest_v1, http_v2, direct"
                + (f", not {', '.join(unknown)}" if unknown else "")
            )
        return ",".join(names)

    @property
    def sources(self) -> frozenset[EventSource]:
        """``event_sources`` as the handler takes them; unset, production's fail closed."""
        given = self.event_sources
        if given is None:
            given = "rest_v1" if self.environment == "production" else "rest_v1,direct"
        return frozenset(
            name for name in get_args(EventSource.__value__) if name in given.split(",")
        )

    @property
    def endpoint_url(self) -> str | None:
        """The DynamoDB endpoint: an override in `local`, AWS's own in `production`."""
        return endpoint_url_for(self.environment, self.aws_endpoint_url)


@cache
def get_settings() -> QueryResultSettings:
    """The settings, read from the environment on first use."""
    return QueryResultSettings.from_environ()
