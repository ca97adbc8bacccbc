"""One exchange (a request sent to both sides) and the run's counts and latencies."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from query_migrate.shadow.comparison import Difference
from query_migrate.shadow.targets import Answer

__all__ = ["Exchange", "Summary", "percentile"]


@dataclass
class Exchange:
    """One request sent to both sides, and what came back."""

    number: int
    page: int
    body: bytes
    old_id: str
    new_id: str
    old: Answer
    new: Answer
    differences: list[Difference]

    @property
    def error(self) -> str | None:
        errors = [
            f"{side}: {a.error}" for side, a in (("old", self.old), ("new", self.new)) if a.error
        ]
        return "; ".join(errors) or None


@dataclass
class Summary:
    """Counts, latencies, and the exchanges worth a look (mismatches and errors)."""

    old_label: str
    new_label: str
    requests: int = 0
    matches: int = 0
    mismatches: int = 0
    errors: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    old_ms: list[float] = field(default_factory=list)
    new_ms: list[float] = field(default_factory=list)
    problems: list[Exchange] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.requests > 0 and self.mismatches == 0 and self.errors == 0

    def add(self, exchange: Exchange) -> None:
        self.requests += 1
        if exchange.old.error is None:
            self.old_ms.append(exchange.old.ms)
        if exchange.new.error is None:
            self.new_ms.append(exchange.new.ms)
        if exchange.error:
            self.errors += 1
            self.problems.append(exchange)
        elif exchange.differences:
            self.mismatches += 1
            self.kinds.update({d.kind for d in exchange.differences})
            self.problems.append(exchange)
        else:
            self.matches += 1

    def latency(self, side: str) -> dict[str, float | None]:
        values = self.old_ms if side == "old" else self.new_ms
        return {"p50": percentile(values, 50), "p99": percentile(values, 99)}

    def as_json(self) -> dict[str, Any]:
        return {
            "command": "shadow",
            "ok": self.ok,
            "old": self.old_label,
            "new": self.new_label,
            "requests": self.requests,
            "matches": self.matches,
            "mismatches": {"total": self.mismatches, "by_kind": dict(sorted(self.kinds.items()))},
            "errors": self.errors,
            "latency_ms": {side: self.latency(side) for side in ("old", "new")},
            "seconds": round(self.seconds, 2),
        }


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile (p in 0-100), in the unit of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return round(ordered[rank - 1], 2)
