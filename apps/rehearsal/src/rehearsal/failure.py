"""The canary stopped by an alarm, rehearsed (``rehearse instead: failed-canary``;
docs/decisions/0015-runbook-rehearsal.md#the-canary).

A bad deploy made on purpose: the Query Lambda gets a version whose target refuses
connections (``EKS_HANDLER_URL`` on a closed port of 127.0.0.1), and its deployment group's
canary runs over the watching client's real traffic. Passes when an alarm stops it, ``live``
is back on the version it was on with no weights, and the traffic that follows reaches that
version only; the client's non-2xx answers while the bad version had its share are counted
and shown (that share is what the alarm measures), and any after the rollback fail the step.
The function's configuration is put back afterwards, as CloudFormation's rollback of the
stack does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from query_devstack import free_port

from rehearsal.canary import Canary, CanaryError
from rehearsal.deploy import Deployed
from rehearsal.update import canary_targets

__all__ = ["failed_canary"]

#: How long the traffic after the rollback is watched.
AFTER_SECONDS = 3.0


def failed_canary(
    deployed: Sequence[Deployed],
    *,
    aws: Callable[[str], Any],
    canary: Canary,
    invoked: list[tuple[str, str]],
    tolerate: Callable[[str | None], None],
) -> tuple[int, str]:
    """Run the failing canary; (exit code, output) as a block's."""
    if not deployed or deployed[0].values is None:
        return 1, "no deployed stack: the failed canary needs the deploy before it"
    targets = canary_targets(deployed[0].template, deployed[0].values)
    if not targets:
        return 1, "the stack has no alias a deployment group moves: no canary to stop"
    target, lam = targets[0], aws("lambda")
    before = lam.get_alias(FunctionName=target.function, Name=target.alias)
    config = lam.get_function_configuration(FunctionName=target.function)
    variables = dict((config.get("Environment") or {}).get("Variables") or {})
    broken = {**variables, "EKS_HANDLER_URL": f"http://127.0.0.1:{free_port()}/"}
    lines = [f"{target.function}: a version whose EKS_HANDLER_URL is {broken['EKS_HANDLER_URL']}"
             " (nothing listens there)"]  # fmt: skip
    lam.update_function_configuration(FunctionName=target.function,
                                      Environment={"Variables": broken})  # fmt: skip
    alarms: list[dict[str, Any]] = []
    try:
        bad = lam.publish_version(FunctionName=target.function)["Version"]
        alarms = _watch_version(aws("cloudwatch"), target.alarms, before["FunctionVersion"], bad)
        tolerate("the failed canary gave the broken version its share")
        try:
            completed, said = canary.run(target, before["FunctionVersion"], bad)
        finally:
            tolerate(None)
    except CanaryError as exc:
        return 1, "\n".join([*lines, f"the canary could not run: {exc}"])
    finally:
        lam.update_function_configuration(FunctionName=target.function,
                                          Environment={"Variables": variables})  # fmt: skip
        for alarm in alarms:
            aws("cloudwatch").put_metric_alarm(**alarm)
    lines += said
    if completed:
        return 1, "\n".join([*lines, f"the canary was not stopped: {target.alias} now serves "
                             f"version {bad}, which fails every first page"])  # fmt: skip
    start = len(invoked)
    time.sleep(AFTER_SECONDS)
    after = [v for f, v in invoked[start:] if f == target.function]
    wrong = sorted({v for v in after if v != before["FunctionVersion"]})
    now = lam.get_alias(FunctionName=target.function, Name=target.alias)
    weights = (now.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    lines.append(f"after the rollback: {len(after)} invocations in {AFTER_SECONDS:.0f} s, "
                 f"versions {sorted(set(after)) or 'none'}")  # fmt: skip
    if now["FunctionVersion"] != before["FunctionVersion"] or weights or wrong or not after:
        lines.append(f"the traffic did not return to version {before['FunctionVersion']}")
        return 1, "\n".join(lines)
    lines.append(f"the traffic returned: {target.alias} serves version "
                 f"{before['FunctionVersion']} alone")  # fmt: skip
    return 0, "\n".join(lines)


#: What ``put_metric_alarm`` takes of ``describe_alarms``' answer.
_ALARM_FIELDS = ("AlarmName", "AlarmDescription", "ActionsEnabled", "ComparisonOperator",
                 "DatapointsToAlarm", "EvaluationPeriods", "Metrics", "Threshold",
                 "TreatMissingData")  # fmt: skip
_VERSION_DIMENSIONS = ("ExecutedVersion", "Version")


def _watch_version(
    cloudwatch: Any, names: Sequence[str], old: str, new: str
) -> list[dict[str, Any]]:
    """The alarms ``names`` put again watching version ``new`` where they watched ``old``, as
    the deploy of a new version does (the stack's alarms name the version they judge); returns
    them as they were, to put back."""
    found = cloudwatch.describe_alarms(AlarmNames=list(names))["MetricAlarms"] if names else []
    saved: list[dict[str, Any]] = []
    for alarm in found:
        fields = {k: alarm[k] for k in _ALARM_FIELDS if alarm.get(k) not in (None, [], "")}
        saved.append(fields)
        metrics = json.loads(json.dumps(fields.get("Metrics", [])))
        for query in metrics:
            for dim in query.get("MetricStat", {}).get("Metric", {}).get("Dimensions", []):
                if dim["Name"] in _VERSION_DIMENSIONS and dim["Value"] == old:
                    dim["Value"] = new
        cloudwatch.put_metric_alarm(**{**fields, "Metrics": metrics})
    return saved
