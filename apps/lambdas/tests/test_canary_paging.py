"""Clients paging while alias ``live`` moves between the old EKS handler and the service.

The real Query Lambda handler, once per invocation as one of two versions (the EKS target
and the ECS target), chosen per invocation with the alias's weight, as Lambda does; real
HTTP servers on 127.0.0.1 stand in for the old EKS handler (its own token spelling) and for
the service (this service's tokens, ``PageTokenCodec``), each refusing the other's tokens
with the contract's 400. Both read the same results.
"""

from __future__ import annotations

import base64
import json
import random
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from lambdas.query._settings import QueryLambdaSettings
from query_core import InvalidNextTokenError, PageTokenCodec, TokenKey, TokenKeys
from query_devstack import MisbehavingServer, RecordedRequest, Reply, ulid

PAGE = 3
_RNG, _AT = random.Random(20), datetime(2026, 12, 1, tzinfo=UTC)
USERS = {f"u-{n:03}": sorted(ulid(_AT, _RNG) for _ in range(4 + n % 12)) for n in range(60)}
#: The alias's weight of the new (ECS) version as the canary moves: 0, 10 %, all; then a
#: rollback to the old version, and the canary again.
WEIGHTS = (0.0, 0.1, 1.0, 0.0, 0.1, 1.0)
#: Requests between two steps of the weight.
STEP = 25


def _page(user_id: str, start: int) -> tuple[list[dict[str, Any]], int | None]:
    ids = USERS[user_id]
    end = start + PAGE
    items = [{"result_id": rid, "user_id": user_id} for rid in ids[start:end]]
    return items, (end if end < len(ids) else None)


def _answer(status: int, document: dict[str, Any]) -> Reply:
    return Reply(status=status, body=json.dumps(document).encode())


def _refused() -> Reply:
    return _answer(400, {"detail": "next_token is malformed"})


class Context:
    aws_request_id = "lambda-ctx-id"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def _body(request: RecordedRequest) -> dict[str, Any] | None:
    try:
        body = json.loads(request.body)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def service_side(codec: PageTokenCodec) -> Callable[[RecordedRequest], Reply]:
    """The service: this repository's tokens (the last result_id, signed)."""

    def answer(request: RecordedRequest) -> Reply:
        body = _body(request)
        if body is None:
            return _answer(400, {"detail": "request body is not valid JSON"})
        user_id, token = body["user_id"], body.get("next_token")
        start = 0
        if token is not None:
            try:
                after = codec.decode(token, user_id=user_id, ap_id=None)
            except InvalidNextTokenError:
                return _refused()
            start = USERS[user_id].index(after) + 1
        items, end = _page(user_id, start)
        last = items[-1]["result_id"] if end is not None else None
        next_token = (
            None if last is None else codec.encode(user_id=user_id, ap_id=None, result_id=last)
        )
        return _answer(
            200, {"user_id": user_id, "items": items, "count": len(items), "next_token": next_token}
        )

    return answer


def eks_side(request: RecordedRequest) -> Reply:
    """The old EKS handler: its own tokens, an offset as base64 JSON."""
    body = _body(request)
    if body is None:
        return _answer(400, {"detail": "invalid body"})
    user_id, token = body["user_id"], body.get("next_token")
    start = 0
    if token is not None:
        try:
            position = json.loads(base64.urlsafe_b64decode(token))
            start = int(position["offset"])
        except (ValueError, TypeError, KeyError):
            return _refused()
        if position.get("user_id") != user_id:
            return _refused()
    items, end = _page(user_id, start)
    next_token = None
    if end is not None:
        next_token = base64.urlsafe_b64encode(
            json.dumps({"user_id": user_id, "offset": end}).encode()
        ).decode()
    return _answer(
        200, {"user_id": user_id, "items": items, "count": len(items), "next_token": next_token}
    )


@pytest.fixture
def servers() -> Iterator[tuple[MisbehavingServer, MisbehavingServer]]:
    codec = PageTokenCodec(TokenKeys(TokenKey("k-1", b"s" * 32)))
    with MisbehavingServer(service_side(codec)) as service, MisbehavingServer(eks_side) as eks:
        yield service, eks


@pytest.fixture
def sides(servers: tuple[MisbehavingServer, MisbehavingServer]) -> tuple[str, str]:
    return servers[0].url, servers[1].url


@pytest.fixture
def query_module(monkeypatch: pytest.MonkeyPatch) -> Any:
    from lambdas.query import _forward
    from lambdas.query import handler as module

    monkeypatch.setattr(_forward, "_pool", None)
    return module


def versions(service: str, eks: str, *, follow_tokens: bool) -> tuple[QueryLambdaSettings, ...]:
    """The alias's two versions: the old one targets EKS, the new one the service."""
    both: dict[str, Any] = (
        {"service_url": service, "old_eks_handler_url": eks} if follow_tokens else {}
    )
    return (
        QueryLambdaSettings(eks_handler_url=eks, **both),
        QueryLambdaSettings(eks_handler_url=service, **both),
    )


def page_while_traffic_moves(
    module: Any,
    monkeypatch: pytest.MonkeyPatch,
    event: dict[str, Any],
    old_and_new: tuple[QueryLambdaSettings, ...],
) -> tuple[list[int], dict[str, list[str]]]:
    """Every user pages through their results, interleaved, while the weight moves."""
    chooser = random.Random(18)
    statuses: list[int] = []
    seen: dict[str, list[str]] = {user: [] for user in USERS}
    tokens: dict[str, str | None] = dict.fromkeys(USERS)
    pending = set(USERS)
    weights = iter(WEIGHTS)
    weight = next(weights)
    while pending:
        for user in sorted(pending):
            if len(statuses) % STEP == STEP - 1:  # the canary's next step, or a rollback
                weight = next(weights, weight)
            version = old_and_new[1] if chooser.random() < weight else old_and_new[0]
            monkeypatch.setattr(module, "get_settings", lambda version=version: version)
            body: dict[str, Any] = {"user_id": user}
            if tokens[user] is not None:
                body["next_token"] = tokens[user]
            response = module.handler({**event, "body": json.dumps(body)}, Context())
            statuses.append(response["statusCode"])
            if response["statusCode"] != 200:
                pending.discard(user)  # the client gives up: its pages are lost
                continue
            page = json.loads(response["body"])
            seen[user] += [item["result_id"] for item in page["items"]]
            tokens[user] = page["next_token"]
            if page["next_token"] is None:
                pending.discard(user)
    return statuses, seen


def test_a_client_paging_while_traffic_moves_sees_every_item_once(
    query_module, monkeypatch, load_event, sides
):
    statuses, seen = page_while_traffic_moves(
        query_module,
        monkeypatch,
        load_event("rest_v1_external_query.json"),
        versions(*sides, follow_tokens=True),
    )
    assert len(statuses) > STEP * len(WEIGHTS)  # every step of the weight was seen
    assert [s for s in statuses if s != 200] == []
    assert seen == USERS  # in order, none twice, none missing


def test_without_following_the_token_pages_cross_sides_and_are_refused(
    query_module, monkeypatch, load_event, sides
):
    """Lambda's per-invocation routing alone: the failure the clients saw."""
    statuses, seen = page_while_traffic_moves(
        query_module,
        monkeypatch,
        load_event("rest_v1_external_query.json"),
        versions(*sides, follow_tokens=False),
    )
    assert statuses.count(400) > 0
    assert seen != USERS


def test_a_first_page_goes_to_the_versions_own_target(query_module, monkeypatch, load_event, sides):
    old, new = versions(*sides, follow_tokens=True)
    event = {**load_event("rest_v1_external_query.json"), "body": json.dumps({"user_id": "u-003"})}
    for version, spelled_by_codec in ((old, False), (new, True)):
        monkeypatch.setattr(query_module, "get_settings", lambda version=version: version)
        response = query_module.handler(event, Context())
        token = json.loads(response["body"])["next_token"]
        assert PageTokenCodec.has_shape(token) is spelled_by_codec


def test_a_body_that_is_not_json_goes_to_the_versions_target(
    query_module, monkeypatch, load_event, servers
):
    service, eks = servers
    _, new = versions(service.url, eks.url, follow_tokens=True)
    monkeypatch.setattr(query_module, "get_settings", lambda: new)
    event = {**load_event("rest_v1_external_query.json"), "body": '{"next_token": '}
    response = query_module.handler(event, Context())
    assert response["statusCode"] == 400
    assert (len(service.requests), len(eks.requests)) == (1, 0)


@pytest.mark.parametrize(
    ("environ", "line"),
    [
        ({"SERVICE_URL": "http://alb"}, "SERVICE_URL and OLD_EKS_HANDLER_URL are set together"),
        ({"OLD_EKS_HANDLER_URL": "http://eks"}, "SERVICE_URL and OLD_EKS_HANDLER_URL are set"),
        (
            {"SERVICE_URL": "alb:80", "OLD_EKS_HANDLER_URL": "http://eks"},
            "SERVICE_URL must be an http(s):// URL, not 'alb:80'",
        ),
    ],
)
def test_both_targets_are_named_together_as_urls(environ, line):
    from lambdas._startup import SettingsError

    with pytest.raises(SettingsError, match=re.escape(line)):
        QueryLambdaSettings.from_environ(environ)


def test_both_targets_read_from_the_environment():
    settings = QueryLambdaSettings.from_environ(
        {"SERVICE_URL": "http://alb/", "OLD_EKS_HANDLER_URL": "http://eks:8080"}
    )
    assert settings.both_targets == ("http://alb", "http://eks:8080")
    assert QueryLambdaSettings.from_environ({}).both_targets is None
