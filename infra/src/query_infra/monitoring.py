"""Alarms and one dashboard over the metrics the other constructs name as worth watching."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_cloudwatch as cw
from constructs import Construct

__all__ = ["Monitoring", "Watch", "alarm"]


@dataclass(frozen=True)
class Watch:
    """One alarm to raise: at or above ``threshold`` for ``periods`` periods of ``metric``."""

    name: str
    metric: cw.IMetric
    threshold: float
    description: str
    periods: int = 1


def alarm(scope: Construct, watch: Watch) -> cw.Alarm:
    """The alarm of a watch; missing data (no traffic) is not a breach."""
    return cw.Alarm(
        scope,
        watch.name,
        metric=watch.metric,
        threshold=watch.threshold,
        evaluation_periods=watch.periods,
        comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        alarm_description=watch.description,
    )


class Monitoring(Construct):
    """An alarm per watch, and a dashboard with every alarm (``also``: alarms made elsewhere,
    e.g. the canary's rollback alarms, shown on the same dashboard)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        watches: Sequence[Watch],
        also: Sequence[cw.Alarm] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarms: dict[str, cw.Alarm] = {w.name: alarm(self, w) for w in watches}
        for other in also:
            self.alarms[other.node.id] = other
        dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=dashboard_name)
        dashboard.add_widgets(
            cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24)
        )
        for name, created in self.alarms.items():
            dashboard.add_widgets(cw.GraphWidget(title=name, left=[created.metric], width=8))
