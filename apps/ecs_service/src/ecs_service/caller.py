"""Who the caller is, for the owner check (docs/contract.md#ownership).

Behind the ALB the caller is ``X-Caller-Id``, trusted only with the Query Lambda's
``X-Caller-Proof`` for that caller and the request's ``X-Request-Id`` when the service holds
``CALLER_PROOF_KEYS`` (docs/contract.md#caller-proof): anything else in the Query Lambda's
security group could name any caller. On Lambda (the Mangum entry) the caller comes from the
event's ``requestContext``, the authorizer's word, and no header of the event counts.
docs/decisions/0013-caller-proof.md says why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from query_core import (
    CALLER_ID_HEADER,
    CALLER_PROOF_HEADER,
    CallerProofKeys,
    UnauthorizedError,
    UnsupportedEventError,
)
from query_core.events import caller_identity, decode_event
from starlette.requests import Request

__all__ = ["CallerResolver", "event_caller", "header_caller"]

#: The caller's identity for a request, or None; raises ``UnauthorizedError`` for a bad proof.
type CallerResolver = Callable[[Request], str | None]


def header_caller(
    keys: CallerProofKeys | None, *, clock: Callable[[], float] = time.time
) -> CallerResolver:
    """``X-Caller-Id``; with ``keys``, only with a valid ``X-Caller-Proof`` (else 401)."""

    def resolve(request: Request) -> str | None:
        caller = request.headers.get(CALLER_ID_HEADER)
        if caller is None or keys is None:
            return caller
        proof = request.headers.get(CALLER_PROOF_HEADER)
        if not keys.verify(proof, caller, request.state.request_id, clock()):
            raise UnauthorizedError
        return caller

    return resolve


def event_caller(owner_claim: str | None) -> CallerResolver:
    """The caller the Lambda event's authorizer names (``scope["aws.event"]``, which Mangum
    documents), as the Query Lambda reads it; the event's headers are never asked."""

    def resolve(request: Request) -> str | None:
        event: Any = request.scope.get("aws.event")
        if not isinstance(event, Mapping):
            return None
        try:
            decoded = decode_event(event)
        except UnsupportedEventError:  # pragma: no cover - Mangum served it, so it has a shape
            return None
        return caller_identity(decoded, owner_claim)

    return resolve
