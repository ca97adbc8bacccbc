"""``smoke``'s checks of alias ``live`` with the test identity, from anywhere with credentials.

The Query Lambda's alias (``QueryLambdaAliasArn``) is invoked with REST proxy events as the
public API sends them (``query_core.events.rest_proxy_event``), whose authorizer names the
test identity (``canaryTestUserId``, or ``--identity``): the request then crosses the whole
path behind the alias (ALB → service → private API → Query Result Lambda → table, or the EKS
handler) with the owner check on. Each event carries the public API's id
(``existingPublicApiId``, else the host of ``PublicApiUrl``), as the Query Lambda takes only
that API's events (docs/contract.md#side-doors). No host in the Query Lambda's security group and no
``OWNER_CHECK`` off are needed: the same identity the CodeDeploy hook uses
(docs/decisions/0012-canary-check-hook.md).

What the answers must be follows where the alias leads in the account's phase: to the
service (``ecs``, ``eks gone``, or no phase read) ``/query/marketing`` is the contract's 410
and another user's page asked as the test identity is 403; to EKS (``deployed (eks)``,
``attached``) the old handler still serves marketing and its owner rule is not this stack's;
in the ``canary`` either side may answer.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from query_core import FOREIGN_EVENT_DETAIL, RESULT_PATH, RETIRED_MARKETING_DETAIL, RETIRED_PATH
from query_core.events import rest_proxy_event

from query_migrate._aws import Aws, aws_errors
from query_migrate._checks import Check, Verdict
from query_migrate._errors import AwsError, MigrateError
from query_migrate._inputs import Context
from query_migrate.phase import Phase

__all__ = [
    "Identity",
    "alias_leads_to",
    "identity_checks",
    "owner_checked",
    "owner_claim",
    "public_api_id",
    "read_identity",
]

#: The claim the Query Lambda reads per ``publicAuth`` when the context names none.
_DEFAULT_CLAIMS: Final = {"cognito": "sub", "lambda": "principalId", "iam": "caller"}
#: ``apiId`` of the events when neither the context nor the outputs name the public API.
_NO_API: Final = "unknown-public-api"
_FIX_FOREIGN = (
    "the Query Lambda takes only its public API's events: give smoke the stack (--stack, "
    "for PublicApiUrl) or the context's existingPublicApiId"
)
_FIX_NO_RESULTS = (
    "give the test identity a few results (docs/runbook.md#the-test-identity), or name "
    "another one with --identity"
)


@dataclass(frozen=True)
class Identity:
    """The test identity: the user, the claim the caller travels in, and where it came from."""

    user: str
    claim: str
    source: str


def read_identity(given: str | None, context: Context) -> Identity | None:
    """``--identity``, else the context's ``canaryTestUserId``; None when neither names one."""
    user = given or context.string("canaryTestUserId")
    if user is None:
        return None
    return Identity(user, owner_claim(context), "--identity" if given else "canaryTestUserId")


def public_api_id(context: Context, public_url: str | None) -> str | None:
    """The public API's id: ``existingPublicApiId``, else the first label of the host of
    ``PublicApiUrl`` (``https://{id}.execute-api.{region}.amazonaws.com/prod/``), else None."""
    existing = context.string("existingPublicApiId")
    if existing:
        return existing
    if public_url:
        host = urlsplit(public_url).hostname or ""
        if ".execute-api." in host:
            return host.split(".", 1)[0]
    return None


def owner_claim(context: Context) -> str:
    """The claim the Query Lambda reads the caller from: ``ownerClaim``, else the one of
    ``publicAuth`` (IAM's ``caller`` by default)."""
    return context.string("ownerClaim") or _DEFAULT_CLAIMS.get(
        context.string("publicAuth") or "iam", "sub"
    )


def owner_checked(context: Context) -> bool:
    """Whether the context turns the service's owner check on (not ``ownerCheck=false``; in
    create mode, not ``publicAuth=none``)."""
    if context.flag("ownerCheck") is False:
        return False
    return bool(context.string("existingPublicApiId")) or context.string("publicAuth") != "none"


def alias_leads_to(phase: Phase | None) -> str:
    """ "ecs", "eks" or "either": where alias live sends a request in ``phase``."""
    if phase in (Phase.DEPLOYED_EKS, Phase.ATTACHED):
        return "eks"
    return "either" if phase is Phase.CANARY else "ecs"


class _Alias:
    """Invocations of alias live, each a proxy response or a MigrateError naming the failure."""

    def __init__(
        self, aws: Aws, alias_arn: str, identity: Identity, stem: str, api_id: str | None
    ) -> None:
        self._aws, self._arn, self._identity, self._stem = aws, alias_arn, identity, stem
        self._api_id = api_id or _NO_API
        self.count = 0

    def send(self, method: str, path: str, body: Any = None) -> tuple[dict[str, Any], float]:
        self.count += 1
        event = rest_proxy_event(
            path,
            method=method,
            body=body,
            caller=self._identity.user,
            claim=self._identity.claim,
            request_id=f"{self._stem}-live-{self.count}",
            api_id=self._api_id,
            stage="smoke",
            user_agent="query-migrate-smoke",
        )
        started = time.perf_counter()
        with aws_errors(f"Invoke {self._arn}"):
            answer = self._aws.lambda_.invoke(
                FunctionName=self._arn, Payload=json.dumps(event).encode()
            )
            payload = answer["Payload"].read()
        ms = (time.perf_counter() - started) * 1000
        if answer.get("FunctionError"):
            raise MigrateError(
                f"the function failed ({answer['FunctionError']}): {payload[:200]!r}"
            )
        try:
            response = json.loads(payload)
        except ValueError:
            response = None
        if not isinstance(response, dict) or "statusCode" not in response:
            raise MigrateError(f"not a proxy response: {payload[:200]!r}")
        return response, ms


def _detail(response: dict[str, Any]) -> Any:
    try:
        return json.loads(response.get("body") or "").get("detail")
    except (ValueError, AttributeError):
        return None


def _page(alias: _Alias, name: str, user: str, token: str | None) -> tuple[Check, str | None]:
    body: dict[str, Any] = {"user_id": user, "limit": 2}
    if token is not None:
        body["next_token"] = token
    response, ms = alias.send("POST", RESULT_PATH, body)
    status, text = response.get("statusCode"), str(response.get("body"))
    fix = "see the Query Lambda's log for this request id (smoke-…-live-N)"
    if _detail(response) == FOREIGN_EVENT_DETAIL:
        fix = _FIX_FOREIGN
    if status != 200:
        return Check.fail(name, f"status {status}: {text[:160]}", fix, latency_ms=ms), None
    try:
        page = json.loads(text)
        items = page["items"]
        consistent = page.get("user_id") == user and page.get("count") == len(items)
    except (ValueError, KeyError, TypeError):
        return Check.fail(name, f"not a page: {text[:160]}", fix, latency_ms=ms), None
    if not consistent:
        return Check.fail(name, "user_id or count do not match the page", fix, latency_ms=ms), None
    if token is None and not items:
        detail = f"200, but {user!r} has no results: the check proves nothing"
        return Check.fail(name, detail, _FIX_NO_RESULTS, latency_ms=ms), None
    return Check.ok(name, f"200, {len(items)} item(s)", latency_ms=ms), page.get("next_token")


def _marketing(alias: _Alias, name: str, leads: str) -> Check:
    response, ms = alias.send("GET", RETIRED_PATH)
    status = response.get("statusCode")
    retired = status == 410 and _detail(response) == RETIRED_MARKETING_DETAIL
    served = isinstance(status, int) and status != 410 and status < 500
    if retired or (leads != "ecs" and served):
        found = "the contract's 410" if retired else f"{status}: still served by EKS"
        return Check.ok(name, found, latency_ms=ms)
    fix = (
        "the service answers it; see its log for this request id"
        if leads == "ecs"
        else "the EKS handler must still serve it until alias live leads to the service"
    )
    return Check.fail(
        name, f"status {status}: {str(response.get('body'))[:160]}", fix, latency_ms=ms
    )


def _another_user(alias: _Alias, name: str, identity: Identity, leads: str) -> Check:
    other = f"{identity.user}-smoke-other"
    response, ms = alias.send("POST", RESULT_PATH, {"user_id": other, "limit": 1})
    status = response.get("statusCode")
    if status == 403:
        return Check.ok(name, f"403 for {other!r} asked as {identity.user!r}", latency_ms=ms)
    found = f"status {status} for {other!r} asked as {identity.user!r}"
    if leads != "ecs":
        return Check.skipped(name, f"{found}: alias live may lead to EKS, whose rule this is")
    return Check.fail(
        name,
        f"{found}: the owner check is off, anyone may read anyone's results",
        f"turn the service's owner check on: an owner rule in the context (ownerClaim, not "
        f"ownerCheck=false; claim {identity.claim!r} read here) and deploy",
        latency_ms=ms,
    )


def identity_checks(
    aws: Aws,
    alias_arn: str | None,
    identity: Identity | None,
    *,
    stem: str,
    phase: Phase | None = None,
    owner_check: bool = True,
    api_id: str | None = None,
) -> list[Check]:
    """Two pages as the test identity, ``/query/marketing`` and another user's page, each
    through alias live as from public API ``api_id``; skipped (one line saying what is
    missing) without alias or identity."""
    if alias_arn is None:
        return [Check.skipped("alias live", "no --alias-arn (QueryLambdaAliasArn)")]
    if identity is None:
        why = "no test identity: set canaryTestUserId in the context, or pass --identity USER"
        return [Check.skipped("alias live", why)]
    leads = alias_leads_to(phase)
    alias = _Alias(aws, alias_arn, identity, stem, api_id)
    prefix = f"live as {identity.user}"
    checks: list[Check] = []
    try:
        check, token = _page(alias, f"{prefix}: a page", identity.user, None)
        checks.append(check)
        if token is not None:
            checks.append(_page(alias, f"{prefix}: the next page", identity.user, token)[0])
        elif check.verdict is Verdict.OK:
            checks.append(Check.skipped(f"{prefix}: the next page", "one page only"))
        checks.append(_marketing(alias, f"{prefix}: {RETIRED_PATH}", leads))
        name = f"{prefix}: another user's page is 403"
        if owner_check:
            checks.append(_another_user(alias, name, identity, leads))
        else:
            checks.append(Check.skipped(name, "the context turns the owner check off"))
    except (AwsError, MigrateError) as exc:
        checks.append(
            Check.fail(
                f"{prefix}: invoke",
                str(exc),
                "lambda:InvokeFunction on the alias for you; see the Query Lambda's log",
            )
        )
    return checks
