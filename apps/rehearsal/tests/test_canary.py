"""The canary's readings of CloudWatch: a metric filter pattern it cannot read refused (the
patterns themselves: query_devstack's test_log_filters.py), and the alarms' metric math, as
the stack synthesizes them."""

from __future__ import annotations

import json

import pytest
from rehearsal.canary import CanaryError, evaluate, matches

RATE = "IF(requests >= 20, 100 * (FILL(answered5xx, 0) + FILL(crashes, 0)) / requests, 0)"


def _line(**fields: object) -> str:
    return json.dumps({"level": "INFO", "message": "request handled", **fields})


def test_syntax_the_rehearsal_cannot_read_is_refused() -> None:
    with pytest.raises(CanaryError):
        matches("[ip, user, status >= 500]", _line(status=503))
    with pytest.raises(CanaryError):
        evaluate("ANOMALY_DETECTION_BAND(m1)", {"m1": 1.0})


def test_the_error_rate_waits_for_its_requests() -> None:
    assert evaluate(RATE, {"requests": 19.0, "answered5xx": 19.0, "crashes": None}) == 0.0
    assert evaluate(RATE, {"requests": 20.0, "answered5xx": 9.0, "crashes": None}) == 45.0
    assert evaluate(RATE, {"requests": 40.0, "answered5xx": None, "crashes": 2.0}) == 5.0
    extra = "IF(requests >= 20 AND alias_all >= 20, 100 * FILL(new4xx, 0) / requests - 100 * FILL(all4xx, 0) / alias_all, 0)"  # noqa: E501
    values = {"requests": 20.0, "alias_all": 200.0, "new4xx": 4.0, "all4xx": 10.0}
    assert evaluate(extra, values) == 15.0
