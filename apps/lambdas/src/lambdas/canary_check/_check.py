"""What the hook checks: the version answers the test identity's page as the contract says.

Each check is a REST proxy event as the public API sends it (POST ``/query/result`` with
the authorizer's claim naming the test user), given to the version being deployed; its
answer travels the whole new path (Query Lambda version → ALB → service → private API →
Query Result Lambda → table) or, with ``trafficTarget=eks``, the old one. A check returns
the problems it found, each one line; none means the version may take traffic.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from query_core import RESULT_PATH, RETIRED_MARKETING_DETAIL, QueryResponse
from query_core.events import rest_proxy_event

from lambdas.canary_check._settings import CanaryCheckSettings

__all__ = ["Invoke", "InvokeError", "check_version"]

#: Sends one event to the version and returns its proxy response; ``InvokeError`` otherwise.
type Invoke = Callable[[dict[str, Any]], dict[str, Any]]

MARKETING_PATH = "/query/marketing"


class InvokeError(Exception):
    """The version could not be invoked, or crashed: the message says which, in one line."""


def _event(
    settings: CanaryCheckSettings, method: str, path: str, body: dict[str, Any] | None
) -> dict[str, Any]:
    return rest_proxy_event(
        path,
        method=method,
        body=body,
        caller=settings.test_user_id,
        claim=settings.owner_claim,
        request_id=f"canary-check-{uuid.uuid4()}",
        api_id=settings.public_api_id,
        stage="canary-check",
        user_agent="canary-check",
    )


def _page(
    invoke: Invoke, settings: CanaryCheckSettings, token: str | None
) -> tuple[QueryResponse | None, str | None]:
    """One page of the test user's results, or the problem with the answer."""
    body: dict[str, Any] = {"user_id": settings.test_user_id, "limit": 5}
    if token is not None:
        body["next_token"] = token
    what = "the second page" if token else "the first page"
    answer = invoke(_event(settings, "POST", RESULT_PATH, body))
    status = answer.get("statusCode")
    if status != 200:
        return None, f"{what} of {settings.test_user_id!r}: {status}, not 200: {answer.get('body')}"
    try:
        page = QueryResponse.model_validate_json(str(answer.get("body")))
    except ValidationError as exc:
        return None, f"{what}: not the contract's page ({exc.error_count()} errors): {exc}"
    if page.user_id != settings.test_user_id or page.count != len(page.items):
        return None, f"{what}: user_id or count do not match the request and the items"
    return page, None


def _marketing(invoke: Invoke, settings: CanaryCheckSettings) -> str | None:
    answer = invoke(_event(settings, "GET", MARKETING_PATH, None))
    status, body = answer.get("statusCode"), str(answer.get("body"))
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        detail = None
    if status != 410 or detail != RETIRED_MARKETING_DETAIL:
        return f"{MARKETING_PATH}: {status} {body}, not the contract's 410"
    return None


def check_version(invoke: Invoke, settings: CanaryCheckSettings) -> list[str]:
    """The problems of the version ``invoke`` reaches: the test user's first page (it must
    hold items: the test user has results), the next one if any, and the 410 on
    ``/query/marketing`` when the version targets the service."""
    try:
        page, problem = _page(invoke, settings, None)
        if page is not None and not page.items:
            problem = f"the first page of {settings.test_user_id!r} is empty: no test results"
        problems = [problem] if problem else []
        if page is not None and page.next_token is not None:
            _, problem = _page(invoke, settings, page.next_token)
            problems += [problem] if problem else []
        if settings.expect_marketing_gone and (problem := _marketing(invoke, settings)):
            problems.append(problem)
    except InvokeError as exc:
        return [str(exc)]
    return problems
