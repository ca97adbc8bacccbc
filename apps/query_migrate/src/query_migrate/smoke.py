"""``smoke``: walk every hop reachable from here, each with its latency and verdict.

The public URL answers a page for a user, 410 on ``/query/marketing``, 422 on a bad body and
404 on ``/health`` (not public), each echoing its ``X-Request-Id``; alias live, invoked with
the test identity, answers its pages, the marketing path and 403 for another user's page
(``smoke_identity``), which proves the whole new path from anywhere with credentials; the ALB
(only with ``--alb-url``) answers ``/health`` and a page (or 403 without a caller); the
private API (SigV4) answers a page; the Query Result Lambda's direct door is open only with
the rollback source (``smoke_direct``). A hop that cannot be connected to from where the tool
runs (the ALB and the private API from a laptop) is "not reachable from here", not a
failure. Last, the public page's request id is looked up in each hop's log (CloudWatch Logs,
or the files of ``nox -s serve -- --log-dir DIR``) to prove that the request crossed them.

What the public URL must answer depends on the phase read from the account (:func:`smoke_plan`):
before ``attach`` it reaches the old Query Lambda, so no new log has the id; while alias live
leads to EKS only its own log has it; in the canary the service's and the Query Result
Lambda's logs have it only if the canary picked ECS. ``/query/marketing`` is 410 once its
methods invoke alias live, and still served (not 410, not 5xx) before.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx2

from query_migrate._aws import Aws
from query_migrate._checks import Check, Verdict
from query_migrate._errors import MigrateError
from query_migrate._inputs import Context, Outputs
from query_migrate.phase import Phase
from query_migrate.smoke_direct import direct_invocation_check
from query_migrate.smoke_http import Hop, expect, page_check
from query_migrate.smoke_identity import Identity, identity_checks, public_api_id, read_identity
from query_migrate.smoke_logs import LOG_HOPS, LogSource, log_checks

if TYPE_CHECKING:
    from query_http_client.sigv4 import SigV4Signer

__all__ = [
    "SmokePlan",
    "SmokeTargets",
    "existing_api_url",
    "parse_headers",
    "public_auth",
    "run_smoke",
    "smoke_plan",
    "smoke_targets",
]


@dataclass
class SmokeTargets:
    public_url: str | None = None
    service_url: str | None = None
    internal_api_url: str | None = None
    query_result_function: str | None = None
    public_headers: dict[str, str] = field(default_factory=dict)
    public_signer: SigV4Signer | None = None
    internal_signer: SigV4Signer | None = None
    #: Alias live of the Query Lambda, invoked with the test identity.
    alias_arn: str | None = None
    identity: Identity | None = None
    #: The public API's id, in the events sent to alias live (None: not known).
    api_id: str | None = None


@dataclass(frozen=True)
class SmokePlan:
    """What the public URL must show in the account's phase."""

    #: ``/query/marketing`` answers 410 (its methods invoke alias live), else it is still
    #: served by the old path.
    marketing_retired: bool = True
    #: Each log hop: "required", "optional" (found or not: the canary chose), or the reason
    #: it is not looked up.
    logs: Mapping[str, str] = field(default_factory=lambda: dict.fromkeys(LOG_HOPS, "required"))
    #: The phase read (None: not read, the final state expected): where alias live leads.
    phase: Phase | None = None
    #: The context turns the service's owner check on: another user's page must be 403.
    owner_check: bool = True
    #: The context enables the rollback source: the Query Result Lambda answers direct events.
    direct_accepted: bool = False


def smoke_plan(phase: Phase | None, marketing_on_alias: bool | None) -> SmokePlan:
    """The expectations of the phase (None: not read, e.g. the local chain: the final state)."""
    if phase is None:
        return SmokePlan()
    retired = phase is not Phase.NO_STACK and marketing_on_alias is not False
    if not phase.attached:
        why = f"phase {phase}: the public URL reaches the old Query Lambda"
        return SmokePlan(retired, dict.fromkeys(LOG_HOPS, why), phase)
    if phase is Phase.ATTACHED:
        why = f"phase {phase}: alias live leads to EKS"
        return SmokePlan(
            retired, {"query-lambda": "required", "service": why, "query-result-lambda": why}, phase
        )
    if phase is Phase.CANARY:
        return SmokePlan(
            retired,
            {"query-lambda": "required", "service": "optional", "query-result-lambda": "optional"},
            phase,
        )
    return SmokePlan(retired, phase=phase)


def _alb_page(hop: Hop, request_id: str, page: bytes, user: str) -> Check:
    """A page from the ALB, or its 403: a request from here has no caller the service trusts,
    and with the owner check on it must refuse it (alias live is where a page is proven)."""
    check = page_check("ALB: a page", hop, request_id, page, user)
    if check.verdict is Verdict.FAIL and check.detail.startswith("status 403"):
        return Check.ok(
            "ALB: a page",
            "403 without a caller: the owner check is on",
            latency_ms=check.latency_ms,
        )
    return check


def run_smoke(
    aws: Aws,
    targets: SmokeTargets,
    *,
    user: str,
    logs: LogSource | None,
    log_wait: float,
    timeout: float,
    plan: SmokePlan | None = None,
) -> tuple[list[Check], str]:
    """Every check, and the stem of the request ids sent (``smoke-…``)."""
    plan = plan or SmokePlan()
    stem = f"smoke-{uuid.uuid4().hex[:12]}"
    since_ms = int(time.time() * 1000) - 60_000
    page = json.dumps({"user_id": user, "limit": 2}).encode()
    checks: list[Check] = []
    crossed: str | None = None
    with httpx2.Client(timeout=httpx2.Timeout(timeout), follow_redirects=False) as client:
        if targets.public_url:
            public = Hop(
                client,
                targets.public_url,
                headers=targets.public_headers,
                signer=targets.public_signer,
                public=True,
            )
            crossed = f"{stem}-public"
            checks += [
                page_check("public: a page", public, crossed, page, user),
                expect(
                    "public: /query/marketing is 410"
                    if plan.marketing_retired
                    else "public: /query/marketing still served",
                    public,
                    "POST",
                    "/query/marketing",
                    f"{stem}-retired",
                    status=410 if plan.marketing_retired else _still_served,
                    body=page,
                ),
                expect(
                    "public: a bad body is 422",
                    public,
                    "POST",
                    "/query/result",
                    f"{stem}-invalid",
                    status=422,
                    body=b'{"user_id": "u-1", "unknown": 1}',
                ),
                expect(
                    "public: /health is not public",
                    public,
                    "GET",
                    "/health",
                    f"{stem}-health",
                    # The Query Lambda's 404 behind a {proxy+} route (the stack's API); API
                    # Gateway's own 403 where the API has no such route (an existing one).
                    status=lambda code: code in (403, 404),
                    gateways_own=(403,),
                ),
            ]
            if checks[0].verdict.value != "ok":
                crossed = None
        else:
            checks.append(Check.skipped("public URL", "no --public-url (PublicApiUrl)"))
        if targets.service_url:
            alb = Hop(client, targets.service_url)
            checks += [
                expect("ALB: /health", alb, "GET", "/health", f"{stem}-alb-health", status=200),
                _alb_page(alb, f"{stem}-alb", page, user),
            ]
        else:
            checks.append(Check.skipped("ALB", "no --alb-url (alias live is checked instead)"))
        if targets.internal_api_url:
            private = Hop(client, targets.internal_api_url, signer=targets.internal_signer)
            checks.append(page_check("private API: a page", private, f"{stem}-private", page, user))
        else:
            checks.append(Check.skipped("private API", "no --internal-api-url (InternalApiUrl)"))
    checks += identity_checks(
        aws,
        targets.alias_arn,
        targets.identity,
        stem=stem,
        phase=plan.phase,
        owner_check=plan.owner_check,
        api_id=targets.api_id,
    )
    if targets.query_result_function:
        checks.append(
            direct_invocation_check(
                aws,
                targets.query_result_function,
                user,
                f"{stem}-invoke",
                accepted=plan.direct_accepted,
            )
        )
    else:
        checks.append(
            Check.skipped(
                "Query Result Lambda", "no --query-result-lambda (QueryResultFunctionName)"
            )
        )
    checks += log_checks(logs, crossed, since_ms, log_wait, plan.logs)
    return checks, stem


def _still_served(status: int) -> bool:
    """The old path's answer on the marketing path: neither retired nor failing."""
    return status != 410 and status < 500


def existing_api_url(context: Context, aws: Aws) -> str | None:
    """The existing public API's stage URL (``existingPublicApiId`` mode), if the context has it."""
    api = context.existing_api()
    if api is None:
        return None
    return f"https://{api.api_id}.execute-api.{aws.region}.amazonaws.com/{api.stage}"


def parse_headers(values: tuple[str, ...]) -> dict[str, str]:
    headers = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise MigrateError(f"--header {value!r}: expected 'Name: value'")
        headers[name.strip()] = content.strip()
    return headers


def public_auth(given: str | None, outputs: Outputs) -> str:
    """How to sign the public requests: as given, else as the stack's ``PublicApiAuth`` says."""
    return given or ("iam" if outputs.get("PublicApiAuth") == "iam" else "none")


def smoke_targets(
    aws: Aws,
    outputs: Outputs,
    context: Context,
    *,
    headers: tuple[str, ...] = (),
    auth: str | None = None,
    internal_auth: str = "iam",
    alb_url: str | None = None,
    identity: str | None = None,
) -> SmokeTargets:
    """The hops to walk: the public URL (the stack's, else the existing API's), the ALB (only
    ``alb_url``: it admits only the Query Lambda's security group), alias live with the test
    identity, the private API and the Query Result Lambda, each as far as the outputs name it."""
    public_url = outputs.get("PublicApiUrl") or existing_api_url(context, aws)
    internal_url = outputs.get("InternalApiUrl")
    return SmokeTargets(
        public_url=public_url,
        service_url=alb_url,
        internal_api_url=internal_url,
        query_result_function=outputs.get("QueryResultFunctionName"),
        public_headers=parse_headers(headers),
        public_signer=(
            aws.signer() if public_url and public_auth(auth, outputs) == "iam" else None
        ),
        internal_signer=aws.signer() if internal_url and internal_auth == "iam" else None,
        alias_arn=outputs.get("QueryLambdaAliasArn"),
        identity=read_identity(identity, context),
        api_id=public_api_id(context, outputs.get("PublicApiUrl")),
    )
