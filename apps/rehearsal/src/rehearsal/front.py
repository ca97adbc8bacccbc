"""A stable front on 127.0.0.1 whose target process is swapped as ECS replaces a task: the
ALB's stand-in and the internal API's (docs/decisions/0015-runbook-rehearsal.md#the-alb)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rehearsal._local import Http, Process, Served, relay

__all__ = ["Front", "Target"]


@dataclass
class Target:
    """One process behind a front (a task behind the ALB, the Query Result Lambda behind the
    internal API): what it runs (a task definition's ARN, a function's configuration), the
    process, and what the front counted of it (requests, and 5xx answers including its own
    502 for a failed connection: for the ALB, the ``AWS/ApplicationELB`` metrics the
    ``AlbErrorRate`` alarm would read)."""

    runs: str
    process: Process
    requests: int = 0
    errors: int = 0
    in_flight: int = 0


class Front(Served):
    """A stable front (the ALB, the internal API) whose target is swapped as ECS replaces a
    service's task (the new one started, then the target moved, then the old one drained and
    stopped), so that a client in front of it sees no change but the answers."""

    def __init__(self, *, drain_seconds: float = 30.0) -> None:
        self._lock = threading.Lock()
        self._current: Target | None = None
        self._drain = drain_seconds
        #: Every target the ALB had, in order (the counts stay after it stopped).
        self.targets: list[Target] = []
        #: Told of each answer: its status, and whether the front gave it itself (no target,
        #: or one it could not reach: the load balancer's own 5xx, not the target's).
        self.on_answer: Callable[[int, bool], None] | None = None
        self._http = Http(self.answer)
        self.url = self._http.url

    @property
    def current(self) -> Target | None:
        return self._current

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        json_type = {"content-type": "application/json"}
        with self._lock:
            chosen = self._current
            if chosen is None:  # the ALB with no healthy target
                self._told(503, own=True)
                return 503, json_type, b'{"message":"Service Unavailable"}'
            chosen.requests += 1
            chosen.in_flight += 1
        own = False
        try:
            status, got, payload = relay(chosen.process.url, target, body, headers, method)
        except OSError:  # the ALB's own answer to a target it cannot reach
            status, got, payload, own = 502, json_type, b'{"message":"Bad Gateway"}', True
        finally:
            with self._lock:
                chosen.in_flight -= 1
        if status >= 500:
            with self._lock:
                chosen.errors += 1
        self._told(status, own=own)
        return status, got, payload

    def _told(self, status: int, *, own: bool) -> None:
        if self.on_answer is not None:
            self.on_answer(status, own)

    def replace(self, new: Target) -> Target | None:
        """``new`` takes the requests; the old target, once its requests in flight are
        answered (the deregistration delay, at most ``drain_seconds``), is stopped."""
        with self._lock:
            old, self._current = self._current, new
            self.targets.append(new)
        if old is not None:
            deadline = time.monotonic() + self._drain
            while old.in_flight and time.monotonic() < deadline:
                time.sleep(0.02)
            old.process.stop()
        return old

    def stop(self) -> None:
        super().stop()
        with self._lock:
            current, self._current = self._current, None
        if current is not None:
            current.process.stop()
