"""The metrics AWS's own services publish to CloudWatch (API Gateway's, the load balancer's),
as the data plane's parts that stand in for those services count them
(docs/decisions/0015-runbook-rehearsal.md#the-canary).

moto's CloudWatch stores what is put into it but publishes nothing by itself, so the canary's
alarms on ``AWS/ApiGateway`` and ``AWS/ApplicationELB`` would have no data. Each part that
answers in a service's place declares what it publishes (``publishes``) and adds one point
per answer, with the dimensions the service gives it; the canary sums the points of its
window whose metric and dimensions are the alarm's. A metric no part declares stays "not
evaluated", never a silent 0.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Metrics", "Point", "alb_publisher", "api_publisher"]


@dataclass(frozen=True)
class Point:
    """One datapoint: ``value`` of ``namespace``/``name`` with ``dimensions``."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    value: float = 1.0


class Metrics:
    """Datapoints in the order they happened, shared by the data plane's parts and the canary."""

    def __init__(self) -> None:
        self._points: list[Point] = []
        self._published: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def publishes(self, namespace: str, *names: str) -> None:
        """A part declares the metrics it counts (each answer adds its points)."""
        with self._lock:
            self._published.update((namespace, name) for name in names)

    def published(self, namespace: str, name: str) -> bool:
        with self._lock:
            return (namespace, name) in self._published

    def add(
        self, namespace: str, name: str, dimensions: Mapping[str, str], value: float = 1.0
    ) -> None:
        point = Point(namespace, name, tuple(sorted(dimensions.items())), value)
        with self._lock:
            self._points.append(point)

    def mark(self) -> int:
        """Where the points stand now: what ``since`` counts from."""
        with self._lock:
            return len(self._points)

    def since(self, mark: int) -> list[Point]:
        with self._lock:
            return self._points[mark:]

    @staticmethod
    def total(
        points: list[Point], namespace: str, name: str, dimensions: Mapping[str, str]
    ) -> float:
        """The Sum of the points of one metric with exactly ``dimensions``, as CloudWatch
        matches a metric (its name and its whole set of dimensions)."""
        want = tuple(sorted(dimensions.items()))
        return sum(p.value for p in points
                   if (p.namespace, p.name, p.dimensions) == (namespace, name, want))  # fmt: skip


_ELB = "AWS/ApplicationELB"


def alb_publisher(elbv2: Any, metrics: Metrics) -> Callable[[int, bool], None]:
    """What the ALB's front tells of each answer (its status, and whether it gave it itself)
    -> the load balancer's metrics, as ELB publishes them: ``RequestCount`` and
    ``HTTPCode_ELB_5XX_Count`` by ``LoadBalancer``, ``HTTPCode_Target_5XX_Count`` by
    ``LoadBalancer`` and ``TargetGroup`` (their ARNs' full names, read from the account once
    it has them; before the deploy the front's answers are the local chain's, counted by
    nothing)."""
    metrics.publishes(_ELB, "RequestCount", "HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count")
    names: dict[str, str] = {}

    def full_names() -> dict[str, str]:
        if names:
            return names
        for balancer in elbv2.describe_load_balancers()["LoadBalancers"]:
            arn = balancer["LoadBalancerArn"]
            groups = elbv2.describe_target_groups(LoadBalancerArn=arn)["TargetGroups"]
            if groups:
                names["LoadBalancer"] = arn.split(":loadbalancer/", 1)[1]
                names["TargetGroup"] = groups[0]["TargetGroupArn"].rsplit(":", 1)[1]
                break
        return names

    def told(status: int, own: bool) -> None:
        dims = full_names()
        if not dims:
            return
        balancer = {"LoadBalancer": dims["LoadBalancer"]}
        metrics.add(_ELB, "RequestCount", balancer)
        if status >= 500 and own:
            metrics.add(_ELB, "HTTPCode_ELB_5XX_Count", balancer)
        elif status >= 500:
            metrics.add(_ELB, "HTTPCode_Target_5XX_Count", dims)

    return told


_API = "AWS/ApiGateway"


def api_publisher(
    apigateway: Any, api_id: str, stage: str, metrics: Metrics
) -> Callable[[int], None]:
    """Each status the public API's stage answers -> API Gateway's metrics of the stage:
    ``Count``, ``4XXError`` and ``5XXError`` by ``ApiName`` (the API's name, as the stack's
    alarm names it) and ``Stage``."""
    metrics.publishes(_API, "Count", "4XXError", "5XXError")
    dims = {"ApiName": str(apigateway.get_rest_api(restApiId=api_id)["name"]), "Stage": stage}

    def told(status: int) -> None:
        metrics.add(_API, "Count", dims)
        if 400 <= status < 500:
            metrics.add(_API, "4XXError", dims)
        elif status >= 500:
            metrics.add(_API, "5XXError", dims)

    return told
