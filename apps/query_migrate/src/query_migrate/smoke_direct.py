"""``smoke``'s check of the Query Result Lambda's direct door (``direct`` events, the rollback
path's ``invoke_lambda``).

Only the rollback source may use it: with ``enableLambdaRollbackSource`` a direct invocation
answers the proxy envelope of a page; without it the function refuses ``direct`` events
(its ``EVENT_SOURCES`` holds ``rest_v1`` only), and an answer is a finding, not a pass. Its
resource policy denies ``Invoke`` to everyone but the task role (docs/security.md#side-doors):
with the door open, Invoke denied to whoever runs smoke is a skip that says so.
"""

from __future__ import annotations

import base64
import json
import time

from query_migrate._aws import Aws, aws_errors
from query_migrate._checks import Check
from query_migrate._errors import AwsError
from query_migrate._inputs import Context

__all__ = ["direct_accepted", "direct_invocation_check"]

NAME = "Query Result Lambda: direct invocation"


def direct_accepted(context: Context) -> bool:
    """Whether the context opens the direct door (``enableLambdaRollbackSource``)."""
    return context.flag("enableLambdaRollbackSource") is True


def direct_invocation_check(
    aws: Aws, function: str, user: str, request_id: str, *, accepted: bool
) -> Check:
    """Invoke ``function`` with a direct event: a 200 envelope when ``accepted``, else a refusal
    (a 4xx envelope, or Invoke itself denied)."""
    context = base64.b64encode(json.dumps({"custom": {"request_id": request_id}}).encode())
    started = time.perf_counter()
    try:
        with aws_errors(f"Invoke {function}"):
            response = aws.lambda_.invoke(
                FunctionName=function,
                Payload=json.dumps({"user_id": user, "limit": 1}).encode(),
                ClientContext=context.decode(),
            )
            payload = response["Payload"].read()
    except AwsError as exc:
        if exc.code == "AccessDeniedException":
            if not accepted:
                return Check.ok(NAME, f"refused: {exc}")
            return Check.skipped(
                NAME,
                "Invoke is denied to you: only the task role may invoke it directly "
                "(docs/security.md#side-doors)",
            )
        return Check.fail(NAME, str(exc), "check the name and lambda:InvokeFunction for you")
    ms = (time.perf_counter() - started) * 1000
    try:
        envelope = json.loads(payload)
        status = envelope["statusCode"]
        page = json.loads(envelope["body"])
    except (ValueError, KeyError, TypeError) as exc:
        return Check.fail(
            NAME, f"not a proxy envelope ({exc})", "see the function's log", latency_ms=ms
        )
    if response.get("FunctionError"):
        return Check.fail(
            NAME, f"FunctionError: {payload[:120]!r}", "see the function's log", latency_ms=ms
        )
    if not accepted:
        if isinstance(status, int) and 400 <= status < 500:
            detail = page.get("detail") if isinstance(page, dict) else None
            return Check.ok(NAME, f"refused: {status} {detail!r}", latency_ms=ms)
        return Check.fail(
            NAME,
            f"status {status}: it answers direct events without enableLambdaRollbackSource",
            "deploy a Query Result Lambda that refuses direct events (EVENT_SOURCES=rest_v1), "
            "or set enableLambdaRollbackSource when the rollback source is in use",
            latency_ms=ms,
        )
    if status != 200 or "items" not in page:
        return Check.fail(
            NAME, f"status {status}: {payload[:120]!r}", "see the function's log", latency_ms=ms
        )
    return Check.ok(NAME, f"200 envelope, {len(page['items'])} item(s)", latency_ms=ms)
