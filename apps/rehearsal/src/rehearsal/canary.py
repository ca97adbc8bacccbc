"""The canary as CodeDeploy runs it, in the emulated account
(docs/decisions/0015-runbook-rehearsal.md#the-canary).

moto models a deployment group but runs no deployment, and its CloudWatch neither applies
metric filters to log lines nor evaluates metric math. The rehearsal does what those services
would, from what the account holds: alias ``live`` gets the new version at the deployment
config's share (``CodeDeployDefault.LambdaCanary10Percent5Minutes``: 10 %) while the watching
client's real traffic runs through it; once the new version has served as many requests as
the alarms need (``IF(requests >= N, ...)``), each alarm the deployment group names is
evaluated over that window: its metrics counted from the log lines the real handlers wrote
(through the account's metric filters, patterns as written) and from the invocations the
data plane ran, its expression computed, its threshold compared. An alarm in ALARM stops the
canary and moves ``live`` back (``AutoRollbackConfiguration``'s ``DEPLOYMENT_STOP_ON_ALARM``);
else ``live`` gets the new version whole. The metrics of AWS's own services (API Gateway's,
the load balancer's) are the points the data plane's stand-ins for them count
(``rehearsal.metrics``); an alarm on a metric nothing counts is listed as not evaluated, with
why.
"""

from __future__ import annotations

import ast
import json
import operator
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from query_devstack import FilterPatternError, log_filter_matches

from rehearsal.metrics import Metrics, Point

__all__ = ["Canary", "CanaryError", "CanaryTarget", "Verdict", "evaluate", "matches"]

#: How long the canary waits for the new version to serve what its alarms need.
HOLD_TIMEOUT_SECONDS = 120.0
_CANARY_CONFIG = re.compile(r"Canary(\d+)Percent\d+Minutes$")


class CanaryError(Exception):
    """The canary could not run as the account says (a message naming what)."""


# -- metric filter patterns ------------------------------------------------------------------


def _field(event: Mapping[str, Any], path: str) -> Any:
    value: Any = event
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def matches(pattern: str, line: str) -> bool:
    """Whether CloudWatch Logs' filter ``pattern`` matches ``line``, as the infra tests read it
    (``query_devstack.log_filter_matches``); a pattern it cannot read raises ``CanaryError``
    naming it: the canary cannot say what the alarm would."""
    try:
        return log_filter_matches(pattern, line)
    except FilterPatternError as exc:
        raise CanaryError(f"the rehearsal cannot read the metric filter pattern {pattern!r}: "
                          f"{exc}") from exc  # fmt: skip


# -- metric math -----------------------------------------------------------------------------

_ARITHMETIC: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
}  # fmt: skip
_ORDER: dict[type, Callable[[float, float], bool]] = {
    ast.GtE: operator.ge, ast.Gt: operator.gt, ast.LtE: operator.le, ast.Lt: operator.lt,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}  # fmt: skip


def evaluate(expression: str, values: Mapping[str, float | None]) -> float | None:
    """CloudWatch metric math over one period: ``IF``, ``FILL``, ``AND``/``OR``, arithmetic
    and comparisons of the query ids in ``values`` (None: no data). None when the result has
    no data (a missing metric not FILLed, a division by zero). Other functions raise."""
    source = re.sub(r"\bAND\b", " and ", re.sub(r"\bOR\b", " or ", expression))
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise CanaryError(f"metric math the rehearsal cannot read: {expression!r}") from exc
    return _math(tree.body, values, expression)


def _math(node: ast.AST, values: Mapping[str, float | None], text: str) -> float | None:
    def sub(n: ast.AST) -> float | None:
        return _math(n, values, text)

    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id not in values:
            raise CanaryError(f"{text!r} names {node.id}, which no query of the alarm is")
        return values[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        left, right = sub(node.left), sub(node.right)
        if left is None or right is None or (isinstance(node.op, ast.Div) and right == 0):
            return None
        return _ARITHMETIC[type(node.op)](left, right)
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _ORDER:
        left, right = sub(node.left), sub(node.comparators[0])
        if left is None or right is None:
            return 0.0
        return float(_ORDER[type(node.ops[0])](left, right))
    if isinstance(node, ast.BoolOp):
        values_ = [sub(v) or 0.0 for v in node.values]
        return float(all(values_) if isinstance(node.op, ast.And) else any(values_))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = node.args
        if node.func.id == "IF" and len(args) == 3:
            return sub(args[1]) if sub(args[0]) else sub(args[2])
        if node.func.id == "FILL" and len(args) == 2:
            got = sub(args[0])
            return sub(args[1]) if got is None else got
    raise CanaryError(f"metric math the rehearsal cannot compute: {text!r}")


# -- the canary ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CanaryTarget:
    """An alias CodeDeploy moves (its ``CodeDeployLambdaAliasUpdate`` update policy): its
    function, its name, its deployment group (application, name) and the function's log group."""

    function: str
    alias: str
    group: tuple[str, str]
    log_group: str
    #: The deployment group's config and alarms as the template gives them (moto keeps the
    #: group but answers its alarm configuration empty).
    config: str = ""
    alarms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """One alarm over the canary's window: its value, its threshold, and its state (``ALARM``,
    ``OK``, or ``not evaluated: <why>``)."""

    alarm: str
    value: float | None
    threshold: float
    state: str
    #: Each metric's Sum in the window, by the alarm's query id: what the value is of.
    inputs: tuple[tuple[str, float], ...] = ()

    def line(self) -> str:
        value = "no data" if self.value is None else f"{self.value:.1f}"
        counted = ", ".join(f"{name} {got:g}" for name, got in self.inputs)
        of = f" [{counted}]" if counted else ""
        return f"{self.alarm}: {value}{of} (threshold {self.threshold:g}) -> {self.state}"


class Canary:
    """CodeDeploy's canary for one alias, in the emulated account: ``run(old, new)``.

    ``aws`` makes moto's clients; ``invoked``/``crashed`` are the data plane's running lists
    of (function, version) invocations and function errors; ``logs(function)`` what its
    workers wrote so far, by worker.
    """

    def __init__(
        self,
        aws: Callable[[str], Any],
        *,
        invoked: list[tuple[str, str]],
        crashed: list[tuple[str, str]],
        logs: Callable[[str], dict[str, str]],
        metrics: Metrics | None = None,
        hold_timeout: float = HOLD_TIMEOUT_SECONDS,
    ) -> None:
        self._aws, self._invoked, self._crashed, self._logs = aws, invoked, crashed, logs
        self._metrics = metrics or Metrics()
        self._hold_timeout = hold_timeout

    def run(self, target: CanaryTarget, old: str, new: str) -> tuple[bool, list[str]]:
        """``target``'s alias from version ``old`` to ``new``: shift, hold, evaluate, then
        finish or roll back. Returns (completed, the lines saying what happened)."""
        function, alias, group = target.function, target.alias, target.group
        self._aws("codedeploy").get_deployment_group(  # it exists in the account
            applicationName=group[0], deploymentGroupName=group[1]
        )
        config, alarms = target.config, list(target.alarms)
        share = _CANARY_CONFIG.search(config)
        lines = [f"deployment group {group[1]}: {config}, alarms {', '.join(alarms) or 'none'}"]
        lam = self._aws("lambda")
        if share is None:
            raise CanaryError(f"the rehearsal runs canary configs only, not {config!r}")
        weight = int(share[1]) / 100
        start_calls, start_logs = len(self._invoked), self._logs(function)
        start_crashes, start_points = len(self._crashed), self._metrics.mark()
        lam.update_alias(FunctionName=function, Name=alias, FunctionVersion=old,
                         RoutingConfig={"AdditionalVersionWeights": {new: weight}})  # fmt: skip
        lines.append(f"{alias}: version {old}, {share[1]} % to version {new}")
        queries = {name: self._alarm(name) for name in alarms}
        need = max([_minimum(q) for q in queries.values()] + [1])
        deadline, started = time.monotonic() + self._hold_timeout, time.monotonic()
        served = 0
        while time.monotonic() < deadline:
            served = sum(1 for f, v in self._invoked[start_calls:] if (f, v) == (function, new))
            if served >= need:
                break
            time.sleep(0.25)
        held, total = time.monotonic() - started, len(self._invoked) - start_calls
        lines.append(f"held {held:.1f} s: version {new} served {served} of {total} requests "
                     f"(the alarms need {need})")  # fmt: skip
        window = _Window(
            calls=self._invoked[start_calls:],
            crashes=self._crashed[start_crashes:],
            lines=_new_lines(start_logs, self._logs(function)),
            filters=_current(
                self._aws("logs").describe_metric_filters(logGroupName=target.log_group)
            ),
            function=function,
            points=self._metrics.since(start_points),
            metrics=self._metrics,
        )
        verdicts = [self._verdict(name, alarm, window) for name, alarm in queries.items()]
        lines += [v.line() for v in verdicts]
        if served < need:
            lines.append(f"version {new} served {served} requests, fewer than the {need} its "
                         "alarms need: the canary cannot tell; it stops")  # fmt: skip
        firing = [v.alarm for v in verdicts if v.state == "ALARM"]
        if firing or served < need:
            lam.update_alias(FunctionName=function, Name=alias, FunctionVersion=old,
                             RoutingConfig={"AdditionalVersionWeights": {}})  # fmt: skip
            lines.append(f"stopped{' by ' + ', '.join(firing) if firing else ''}: {alias} back "
                         f"on version {old}, no weights (DEPLOYMENT_STOP_ON_ALARM)")  # fmt: skip
            return False, lines
        lam.update_alias(FunctionName=function, Name=alias, FunctionVersion=new,
                         RoutingConfig={"AdditionalVersionWeights": {}})  # fmt: skip
        lines.append(f"completed: {alias} on version {new}, no weights")
        return True, lines

    def _alarm(self, name: str) -> dict[str, Any]:
        found = self._aws("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
        if not found:
            raise CanaryError(f"the deployment group names the alarm {name}, which does not exist")
        return dict(found[0])

    def _verdict(self, name: str, alarm: Mapping[str, Any], window: _Window) -> Verdict:
        threshold = float(alarm.get("Threshold", 0))
        queries = alarm.get("Metrics") or []
        values: dict[str, float | None] = {}
        for query in queries:
            if stat := query.get("MetricStat"):
                got = window.count(stat["Metric"])
                if isinstance(got, str):
                    return Verdict(name, None, threshold, f"not evaluated: {got}")
                values[query["Id"]] = got
        returned = [q for q in queries if q.get("ReturnData", True) and q.get("Expression")]
        if not returned:
            return Verdict(name, None, threshold, "not evaluated: no metric math to compute")
        value = evaluate(returned[0]["Expression"], values)
        compare = {
            "GreaterThanOrEqualToThreshold": operator.ge,
            "GreaterThanThreshold": operator.gt,
            "LessThanThreshold": operator.lt,
            "LessThanOrEqualToThreshold": operator.le,
        }.get(alarm.get("ComparisonOperator", ""))
        if compare is None:
            return Verdict(name, value, threshold, "not evaluated: its comparison")
        state = "OK" if value is None else ("ALARM" if compare(value, threshold) else "OK")
        inputs = tuple((k, v) for k, v in values.items() if v is not None)
        return Verdict(name, value, threshold, state, inputs)


def _current(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The metric filters as CloudWatch Logs keeps them: one per name in a log group, the
    last put (moto's server keeps every put of the same name: its ``add_filter`` appends)."""
    kept = {(f["logGroupName"], f["filterName"]): f for f in answer["metricFilters"]}
    return list(kept.values())


def _minimum(alarm: Mapping[str, Any]) -> int:
    """The requests an alarm's math waits for (``IF(requests >= N, ...)``), else 1."""
    found = [int(m) for q in alarm.get("Metrics") or []
             for m in re.findall(r">=\s*(\d+)", q.get("Expression") or "")]  # fmt: skip
    return max(found, default=1)


def _new_lines(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """Each worker's lines written since ``before``."""
    out: list[str] = []
    for key, text in after.items():
        out += text[len(before.get(key, "")) :].splitlines()
    return out


@dataclass(frozen=True)
class _Window:
    """What happened during the canary's hold: the data plane's invocations and crashes of
    every function, and the log lines of ``function``."""

    calls: list[tuple[str, str]]
    crashes: list[tuple[str, str]]
    lines: list[str]
    filters: list[dict[str, Any]]
    function: str
    #: The points the data plane's stand-ins for AWS's services added (``rehearsal.metrics``).
    points: list[Point]
    metrics: Metrics

    def count(self, metric: Mapping[str, Any]) -> float | str:
        """One period's Sum of ``metric``, or why the rehearsal cannot count it."""
        dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
        namespace, name = metric.get("Namespace", ""), metric.get("MetricName", "")
        if self.metrics.published(namespace, name):
            return Metrics.total(self.points, namespace, name, dims)
        if namespace == "AWS/Lambda" and name in ("Invocations", "Errors"):
            function = dims.get("FunctionName", self.function)
            version = dims.get("ExecutedVersion")
            events = self.calls if name == "Invocations" else self.crashes
            return float(sum(1 for f, v in events if f == function and version in (None, v)))
        made = [
            (f, t) for f in self.filters for t in f.get("metricTransformations", [])
            if (t.get("metricNamespace"), t.get("metricName")) == (namespace, name)
        ]  # fmt: skip
        if not made:
            return f"{namespace} {name}: no data plane or metric filter of the rehearsal counts it"
        total = 0.0
        for metric_filter, transformation in made:
            for line in self.lines:
                if not matches(metric_filter["filterPattern"], line):
                    continue
                event = json.loads(line)
                got = {k: str(_field(event, v[2:]) if v.startswith("$.") else v)
                       for k, v in (transformation.get("dimensions") or {}).items()}  # fmt: skip
                if all(got.get(k) == v for k, v in dims.items()):
                    total += float(transformation.get("metricValue", "1"))
        return total
