"""A thousand forged ``next_token`` values through the real service, against a real upstream
that answers them as the Query Result Lambda does: the circuit stays closed and every other
user keeps getting their page (docs/contract.md#security).

The upstream is the misbehaving server on 127.0.0.1 answering each request with a token by
the Lambda's 400 ``{"detail": "next_token is malformed"}``, and, in the second case, by
the 500 the Lambda gave before tokens were checked against the table's key rules: even an
upstream bug for one caller's input must not take the service down for everyone.
"""

from __future__ import annotations

import base64
import json
import random
from collections import Counter

import pytest
from ecs_service.app import create_service
from ecs_service.settings import ServiceSettings
from query_devstack import MisbehavingServer, RecordedRequest, Reply

FORGED = 1000
#: One other user's request every this many forged ones.
EVERY = 20
PAGE = {"user_id": "u-1", "items": [], "count": 0, "next_token": None}


def forged_token(rng: random.Random) -> str:
    """A token-shaped string no key signed: random bytes, or a huge position."""
    if rng.random() < 0.5:
        return base64.urlsafe_b64encode(rng.randbytes(rng.randint(8, 600))).decode()
    position = {"user_id": "victim", "result_id": "z" * rng.randint(1025, 2500)}
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode() + ".forged"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (Reply(status=400, body=b'{"detail": "next_token is malformed"}'), 400),
        (Reply(status=500, body=b'{"detail": "internal error"}'), 502),
    ],
    ids=["lambda-400", "lambda-500"],
)
def test_forged_tokens_never_open_the_circuit(serve, answer, expected):
    def upstream_answer(request: RecordedRequest) -> Reply:
        if "next_token" in json.loads(request.body):
            return answer
        return Reply(body=json.dumps(PAGE).encode())

    rng = random.Random(11)
    attacker: Counter[int] = Counter()
    others: Counter[int] = Counter()
    with MisbehavingServer(upstream_answer) as upstream:
        settings = ServiceSettings(
            environment="local",
            internal_api_url=upstream.url + "/prod",
            breaker_failure_threshold=5,  # the default: five counted failures would open it
            retry_budget_capacity=500,
        )
        with serve(create_service(settings)) as service:
            for number in range(FORGED):
                body = {"user_id": "attacker", "next_token": forged_token(rng)}
                attacker[service.request("POST", "/query/result", body).status] += 1
                if number % EVERY == 0:
                    other = service.request("POST", "/query/result", {"user_id": "u-1"})
                    others[other.status] += 1
        calls = len(upstream.requests)
    assert attacker == {expected: FORGED}
    assert others == {200: FORGED // EVERY}
    assert calls == FORGED + FORGED // EVERY  # none retried, none refused by an open circuit
