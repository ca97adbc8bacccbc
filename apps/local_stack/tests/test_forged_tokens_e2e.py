"""A thousand forged ``next_token`` values through the local chain's service, answered by the
real Query Result Lambda over the local gateway and the DynamoDB emulator: each is the
caller's 400, the service's circuit stays closed, and other users keep getting their pages
(docs/contract.md#security). The service-level twin, against a misbehaving upstream that also
answers 500, is ``apps/ecs_service/tests/test_forged_tokens.py``.
"""

from __future__ import annotations

import base64
import json
import random
from collections import Counter

import pytest
import urllib3
from query_core import PageTokenCodec

pytestmark = pytest.mark.e2e
FORGED = 1000
EVERY = 25


def forged(rng: random.Random, number: int) -> str:
    """Garbage, an edited token, or a validly signed one (the local chain uses the public
    key) whose position is over DynamoDB's 1,024-byte sort key limit: the case that used to
    reach DynamoDB and come back as a 500."""
    kind = number % 3
    if kind == 0:
        return base64.urlsafe_b64encode(rng.randbytes(rng.randint(8, 400))).decode()
    if kind == 1:
        token = PageTokenCodec().encode(user_id="attacker", ap_id=None, result_id="01J" * 9)
        return token[:-4] + "AAAA"
    return PageTokenCodec().encode(user_id="attacker", ap_id=None, result_id="z" * 2000)


def test_forged_tokens_never_open_the_services_circuit(stack):
    http = urllib3.PoolManager(retries=False)
    url = stack.service_url + "/query/result"
    headers = {"Content-Type": "application/json"}
    rng = random.Random(7)
    attacker: Counter[int] = Counter()
    others: Counter[int] = Counter()
    for number in range(FORGED):
        body = json.dumps({"user_id": "attacker", "next_token": forged(rng, number)})
        attacker[http.request("POST", url, body=body, headers=headers).status] += 1
        if number % EVERY == 0:
            page = http.request("POST", url, body='{"user_id": "u-1001"}', headers=headers)
            others[page.status] += 1
            assert json.loads(page.data)["count"] > 0
    assert attacker == {400: FORGED}
    assert others == {200: FORGED // EVERY}
