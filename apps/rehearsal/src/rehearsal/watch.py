"""A client watching throughout: it pages through every demo user's results through the public
front, again and again, while the rehearsal runs
(docs/decisions/0015-runbook-rehearsal.md#the-data-plane).

Each pass of a user follows ``next_token`` to the end and is compared with the table's content:
an item twice is a duplicate, an item not seen is missing. Every request counts in the phase
the rehearsal is in (``mark``); a non-2xx answer, a duplicate or a missing item is a problem
named with its phase.
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from query_devstack import dynamodb_client

__all__ = ["Figures", "Problem", "Watcher", "table_contents"]

#: The pause between two requests: the watcher shares 2 cores with the CDK CLI's synth.
PAUSE_SECONDS = 0.02


def table_contents(endpoint_url: str, table: str, users: Sequence[str]) -> dict[str, list[str]]:
    """Each user's result ids as the table holds them (what one pass must see, once each)."""
    client: Any = dynamodb_client(endpoint_url)
    out: dict[str, list[str]] = {}
    for user in users:
        ids: list[str] = []
        pages = client.get_paginator("query").paginate(
            TableName=table,
            KeyConditionExpression="user_id = :u",
            ExpressionAttributeValues={":u": {"S": user}},
            ProjectionExpression="result_id",
        )
        for page in pages:
            ids += [item["result_id"]["S"] for item in page["Items"]]
        out[user] = ids
    return out


@dataclass
class Figures:
    """One phase's requests, errors (non-2xx or no answer) and latencies (ms)."""

    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)

    def percentile(self, fraction: float) -> float:
        if not self.latencies:
            return 0.0
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[
            round(fraction * 100) - 1
        ]

    @staticmethod
    def total(figures: Mapping[str, Figures]) -> Figures:
        """Every phase's figures together."""
        out = Figures()
        for one in figures.values():
            out.requests += one.requests
            out.errors += one.errors
            out.latencies += one.latencies
        return out

    def line(self) -> str:
        if not self.requests:
            return "0 req"
        return (f"{self.requests} req, {self.errors} err, p50 {self.percentile(0.5):.0f} ms, "
                f"p99 {self.percentile(0.99):.0f} ms")  # fmt: skip


@dataclass(frozen=True)
class Problem:
    phase: str
    what: str


class Watcher:
    """``with Watcher(url, expected) as w: w.mark("step"); ...``; ``expected`` is each user's
    result ids as the table holds them."""

    def __init__(
        self, url: str, expected: Mapping[str, Sequence[str]], *, pause: float = PAUSE_SECONDS
    ) -> None:
        self.url = url
        self.expected = {user: list(ids) for user, ids in expected.items()}
        self.figures: dict[str, Figures] = {}
        self.problems: list[Problem] = []
        self.passes = 0
        #: Non-2xx answers while ``tolerate`` said why they are expected: (why, what).
        self.tolerated: list[tuple[str, str]] = []
        self._tolerating: str | None = None
        self._phase = "start"
        self._pause = pause
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="watcher", daemon=True)

    def mark(self, phase: str) -> None:
        """From now on, requests count in ``phase``."""
        with self._lock:
            self._phase = phase

    def tolerate(self, why: str | None) -> None:
        """From now on non-2xx answers are expected for ``why`` (counted, shown, not
        problems), until ``tolerate(None)``: the failed canary's share of the traffic."""
        with self._lock:
            self._tolerating = why

    @property
    def phase(self) -> str:
        with self._lock:
            return self._phase

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(60)

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def report(self, names: Mapping[str, str]) -> list[str]:
        """Each problem in one line naming its step (``names``: phase -> step)."""
        return [f"step '{names.get(p.phase, p.phase)}': {p.what}" for p in self.problems]

    def summary(self, steps: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
        """For phases marked ``"0"``, ``"1"``, ... (block positions) and ``steps`` their steps:
        the figures of each block, the lines of the whole run, and the problems (step named)."""
        names = {str(n): step for n, step in enumerate(steps)}
        names |= {"start": "before the first block", "end": "after the last block"}
        watched = [self.figures.get(str(n), Figures()).line() for n in range(len(steps))]
        problems = self.report(names)
        whole = f"{self.passes} passes of {len(self.expected)} users; "
        whole += Figures.total(self.figures).line()
        expected = [f"{sum(1 for w, _ in self.tolerated if w == why)} non-2xx while {why}"
                    for why in dict.fromkeys(w for w, _ in self.tolerated)]  # fmt: skip
        return watched, [whole, *expected, *problems], problems

    def _count(self, phase: str, ms: float | None, ok: bool) -> None:
        with self._lock:
            figures = self.figures.setdefault(phase, Figures())
            figures.requests += 1
            if ms is not None:
                figures.latencies.append(ms)
            if not ok:
                figures.errors += 1

    def _problem(self, phase: str, what: str) -> None:
        with self._lock:
            if len(self.problems) < 50:
                self.problems.append(Problem(phase, what))

    def _request(self, user: str, token: str | None) -> tuple[int, dict[str, object] | None]:
        parts = urlsplit(self.url)
        body = json.dumps({"user_id": user, **({"next_token": token} if token else {})})
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                                timeout=35)  # fmt: skip
        try:
            headers = {"content-type": "application/json", "authorization": user}
            connection.request("POST", f"{parts.path}/query/result", body, headers)
            answer = connection.getresponse()
            data = answer.read()
            return answer.status, json.loads(data) if answer.status < 300 else {"text": data[:200]}
        finally:
            connection.close()

    def page_through(self, user: str) -> None:
        """One pass of ``user``'s results, checked against the table."""
        seen: list[str] = []
        token: str | None = None
        while not self._stopping.is_set():
            phase = self.phase
            start = time.perf_counter()
            try:
                status, page = self._request(user, token)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                self._count(phase, None, ok=False)
                self._problem(phase, f"{user}: no answer ({exc})")
                return
            ms = (time.perf_counter() - start) * 1000
            ok = 200 <= status < 300
            self._count(phase, ms, ok)
            if not ok or page is None:
                with self._lock:
                    why = self._tolerating
                if why is not None:
                    self.tolerated.append((why, f"{user}: HTTP {status}"))
                else:
                    self._problem(phase, f"{user}: HTTP {status} {page}")
                return
            items = page.get("items")
            seen += [str(i["result_id"]) for i in items] if isinstance(items, list) else []
            token = page.get("next_token")  # type: ignore[assignment]
            if not token:
                break
            time.sleep(self._pause)
        else:
            return
        want = self.expected.get(user, [])
        duplicated = sorted({i for i in seen if seen.count(i) > 1})
        missing = sorted(set(want) - set(seen))
        if duplicated or missing:
            self._problem(self.phase, f"{user}: {len(duplicated)} duplicated, {len(missing)} "
                          f"missing in one pass (e.g. {(duplicated + missing)[:2]})")  # fmt: skip

    def _loop(self) -> None:
        deadline = time.monotonic() + 3600  # bounded, whatever happens to the rehearsal
        while not self._stopping.is_set() and time.monotonic() < deadline:
            for user in self.expected:
                if self._stopping.is_set():
                    return
                self.page_through(user)
                time.sleep(self._pause)
            self.passes += 1
