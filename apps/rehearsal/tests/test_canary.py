"""The canary's readings of CloudWatch: a metric filter pattern it cannot read refused (the
patterns themselves: query_devstack's test_log_filters.py), and the alarms' metric math, as
the stack synthesizes them."""

from __future__ import annotations

import json

import pytest
from rehearsal.canary import CanaryError, evaluate, matches
from rehearsal.metrics import Metrics

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


def test_the_services_metrics_are_summed_by_metric_and_exact_dimensions() -> None:
    """As CloudWatch matches a metric: its name and its whole set of dimensions (the ALB's
    RequestCount by LoadBalancer is not its target group's). Fails if a subset of the
    dimensions matched, or the points before the mark counted."""
    metrics = Metrics()
    metrics.publishes("AWS/ApiGateway", "Count", "5XXError")
    api = {"ApiName": "public-query-api", "Stage": "prod"}
    metrics.add("AWS/ApiGateway", "Count", api)
    mark = metrics.mark()
    for status in (200, 502, 200):
        metrics.add("AWS/ApiGateway", "Count", api)
        if status >= 500:
            metrics.add("AWS/ApiGateway", "5XXError", api)
    metrics.add("AWS/ApiGateway", "Count", {**api, "Resource": "/query/result"})
    points = metrics.since(mark)
    assert Metrics.total(points, "AWS/ApiGateway", "Count", api) == 3.0
    assert Metrics.total(points, "AWS/ApiGateway", "5XXError", api) == 1.0
    assert Metrics.total(points, "AWS/ApiGateway", "Count", {"ApiName": "public-query-api"}) == 0
    assert metrics.published("AWS/ApiGateway", "5XXError")
    assert not metrics.published("AWS/ApplicationELB", "RequestCount")
