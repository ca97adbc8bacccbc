"""boto3 clients, built by one rule for every part of the service (docs/contract.md#configuration).

Needs boto3 (the ``aws`` or ``dynamodb`` extra); importing this module does not import
it, creating a client does.

The endpoint rule: in ``production`` a client talks to AWS's own endpoints and ignores
every endpoint override (``AWS_ENDPOINT_URL`` and its per-service variants left in the
environment cannot redirect it); in ``local`` it talks to the override given, or to
LocalStack's ``http://localhost:4566`` when none is.
"""

from __future__ import annotations

from typing import Any, Final, Literal

__all__ = ["LOCAL_AWS_ENDPOINT", "create_client", "endpoint_url_for"]

LOCAL_AWS_ENDPOINT: Final = "http://localhost:4566"


def endpoint_url_for(
    environment: Literal["local", "production"], override: str | None
) -> str | None:
    """The endpoint a client of ``environment`` talks to; ``None`` is AWS's own."""
    if environment == "production":
        return None
    return override or LOCAL_AWS_ENDPOINT


def create_client(
    service: str,
    *,
    region: str,
    endpoint_url: str | None,
    connect_timeout: float,
    read_timeout: float,
    max_attempts: int,
) -> Any:
    """A boto3 client with explicit timeouts and botocore's standard retry mode.

    ``max_attempts`` counts every call, the first included (1 = no retry).

    ``endpoint_url=None`` is AWS's own endpoint, and then the environment's endpoint
    overrides are ignored too (``ignore_configured_endpoint_urls``).
    """
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,  # type: ignore[call-overload]  # any service; the caller knows its type
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # botocore's "max_attempts" counts retries; "total_max_attempts" counts calls.
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            ignore_configured_endpoint_urls=endpoint_url is None,  # type: ignore[call-arg]  # botocore has it; its stubs lag
        ),
    )
