"""The run: every body to both sides at once, paced to ``rate`` and bounded by
``concurrency``, following ``next_token`` page by page when asked.

The same token goes to both sides: a token issued by one path must be honoured by the other,
because during the canary a client's consecutive pages can cross paths.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence

from query_migrate.shadow.comparison import compare
from query_migrate.shadow.summary import Exchange, Summary
from query_migrate.shadow.targets import Answer, Target

__all__ = ["Pacer", "run_shadow"]


class Pacer:
    """At most ``rate`` starts per second (0: no limit), evenly spaced."""

    def __init__(self, rate: float) -> None:
        self._interval = 1 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self._interval:
            return
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            await asyncio.sleep(start - now)


def _next_page(body: bytes, old: Answer, new: Answer) -> bytes | None:
    if old.status != 200 or new.status != 200:
        return None
    answer, request = old.json(), None
    try:
        request = json.loads(body)
    except ValueError:
        return None
    token = answer.get("next_token") if isinstance(answer, dict) else None
    if not isinstance(request, dict) or not isinstance(token, str):
        return None
    return json.dumps({**request, "next_token": token}).encode()


async def run_shadow(
    bodies: Sequence[bytes],
    old: Target,
    new: Target,
    *,
    concurrency: int = 8,
    rate: float = 0.0,
    follow_pages: bool = False,
    max_pages: int = 10,
    compared_headers: Sequence[str] = (),
    run_id: str = "shadow",
    on_exchange: Callable[[Exchange, bool], None] | None = None,
) -> Summary:
    """Send every body to both sides; ``on_exchange(exchange, opened_a_page)`` after each."""
    summary = Summary(old.label, new.label)
    pacer = Pacer(rate)
    slots = asyncio.Semaphore(concurrency)
    started = time.monotonic()

    async def one(number: int, body: bytes) -> None:
        page = 1
        while True:
            stem = f"{run_id}-{number}" + (f"-p{page}" if page > 1 else "")
            old_id, new_id = f"{stem}-old", f"{stem}-new"
            await pacer.wait()
            async with slots:
                old_answer, new_answer = await asyncio.gather(
                    old.send(body, old_id), new.send(body, new_id)
                )
            differences = compare(
                old_answer,
                new_answer,
                old_id=old_id,
                new_id=new_id,
                compared_headers=compared_headers,
            )
            exchange = Exchange(
                number, page, body, old_id, new_id, old_answer, new_answer, differences
            )
            summary.add(exchange)
            following = _next_page(body, old_answer, new_answer) if follow_pages else None
            if following is not None and page >= max_pages:
                following = None
            if on_exchange is not None:
                on_exchange(exchange, following is not None)
            if following is None:
                return
            body, page = following, page + 1

    try:
        await asyncio.gather(*(one(n, body) for n, body in enumerate(bodies, start=1)))
    finally:
        summary.seconds = time.monotonic() - started
        await asyncio.gather(old.aclose(), new.aclose())
    summary.problems.sort(key=lambda e: (e.number, e.page))
    return summary
