"""``shadow``: the same read-only requests to the old path and the new path, compared.

Each request body goes to both paths at once (``POST {base}/query/result``, or a direct
invocation of the Query Result Lambda with the bare request, as the old ``invoke_lambda``
did). The two answers are compared on what a client of the public API can see
(docs/contract.md#public-api): the status, the body (as JSON when both parse), and the headers
the Query Lambda passes on (docs/contract.md#errors): ``Content-Type`` exactly, ``Retry-After``
present or absent (its value is a hint that depends on timing), and ``X-Request-Id`` echoed by
each side (docs/contract.md#request-id; each side gets its own id). Every other header
(``Date``, ``Content-Length``, API Gateway's and the load balancer's own) never reaches a client
and is not compared, unless named with ``--compare-header``.

With ``follow_pages`` a ``next_token`` of the old side is followed page by page, and the same
token goes to both sides: a token issued by one path must be honoured by the other, because
during the canary a client's consecutive pages can cross paths.
"""

from __future__ import annotations

import asyncio
import base64
import difflib
import html
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpx2

from query_migrate._errors import MigrateError

if TYPE_CHECKING:
    from query_http_client.sigv4 import SigV4Signer

    from query_migrate._aws import Aws

__all__ = [
    "Answer",
    "Difference",
    "Exchange",
    "HttpTarget",
    "InvokeTarget",
    "Summary",
    "compare",
    "html_report",
    "markdown_report",
    "percentile",
    "run_shadow",
    "summary_rows",
]

#: Headers compared by value (a client of the public API sees them).
EXACT_HEADERS = ("content-type",)
#: Headers compared by presence only: their value legitimately differs between two answers.
PRESENCE_HEADERS = ("retry-after",)


@dataclass(frozen=True)
class Answer:
    """One side's answer: status, headers (lower-case names), body; or the error instead."""

    status: int | None
    headers: dict[str, str]
    body: bytes
    ms: float
    error: str | None = None

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class Target(Protocol):
    """One path under test."""

    label: str

    async def send(self, body: bytes, request_id: str) -> Answer: ...

    async def aclose(self) -> None: ...


class HttpTarget:
    """``POST {base_url}/query/result`` over HTTP (httpx2), SigV4-signed when given a signer."""

    def __init__(
        self,
        base_url: str,
        *,
        concurrency: int,
        timeout: float,
        signer: SigV4Signer | None = None,
    ) -> None:
        self.label = base_url
        self._url = base_url.rstrip("/") + "/query/result"
        self._signer = signer
        self._client = httpx2.AsyncClient(
            timeout=httpx2.Timeout(timeout),
            limits=httpx2.Limits(
                max_connections=concurrency, max_keepalive_connections=concurrency
            ),
            follow_redirects=False,
        )

    async def send(self, body: bytes, request_id: str) -> Answer:
        headers: dict[str, str] = {"content-type": "application/json", "x-request-id": request_id}
        if self._signer is not None:
            headers = dict(self._signer("POST", self._url, headers, body))
        started = time.perf_counter()
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx2.HTTPError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return Answer(None, {}, b"", elapsed, error=f"{type(exc).__name__}: {exc}".strip())
        elapsed = (time.perf_counter() - started) * 1000
        return Answer(
            response.status_code,
            {name.lower(): value for name, value in response.headers.items()},
            response.content,
            elapsed,
        )

    async def aclose(self) -> None:
        await self._client.aclose()


class InvokeTarget:
    """A direct invocation of the Query Result Lambda (the old ``invoke_lambda`` path).

    The request id travels in the ClientContext, as the legacy source sends it; the answer is
    the ``{"statusCode", "headers", "body"}`` envelope, read as status, headers and body.
    """

    def __init__(self, function: str, aws: Aws) -> None:
        self.label = f"lambda:{function}"
        self._function = function
        self._aws = aws

    def _invoke(self, body: bytes, request_id: str) -> tuple[dict[str, Any], bytes]:
        from query_migrate._aws import aws_errors

        context = base64.b64encode(json.dumps({"custom": {"request_id": request_id}}).encode())
        with aws_errors(f"Invoke {self._function}"):
            response = self._aws.lambda_.invoke(
                FunctionName=self._function,
                InvocationType="RequestResponse",
                Payload=body,
                ClientContext=context.decode(),
            )
            payload = response["Payload"].read()
        return dict(response), payload

    async def send(self, body: bytes, request_id: str) -> Answer:
        started = time.perf_counter()
        try:
            response, payload = await asyncio.to_thread(self._invoke, body, request_id)
        except MigrateError as exc:
            return Answer(None, {}, b"", (time.perf_counter() - started) * 1000, error=str(exc))
        elapsed = (time.perf_counter() - started) * 1000
        if response.get("FunctionError"):
            return Answer(None, {}, payload, elapsed, error=f"FunctionError: {payload[:200]!r}")
        try:
            envelope = json.loads(payload)
            status = int(envelope["statusCode"])
            headers = {str(k).lower(): str(v) for k, v in (envelope.get("headers") or {}).items()}
            raw = envelope.get("body") or ""
            data = base64.b64decode(raw) if envelope.get("isBase64Encoded") else raw.encode()
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return Answer(None, {}, payload, elapsed, error=f"not a proxy envelope: {exc}")
        return Answer(status, headers, data, elapsed)

    async def aclose(self) -> None:
        return None


@dataclass(frozen=True)
class Difference:
    """One way two answers differ; ``kind`` is what the summary counts by."""

    kind: str
    detail: str


def _pretty(value: Any, raw: bytes) -> list[str]:
    if value is None and raw.strip() not in {b"null"}:
        return raw.decode(errors="replace").splitlines()
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def body_diff(old: Answer, new: Answer) -> list[str]:
    """A unified diff of the two bodies, pretty-printed JSON when they parse."""
    return list(
        difflib.unified_diff(
            _pretty(old.json(), old.body),
            _pretty(new.json(), new.body),
            fromfile="old",
            tofile="new",
            lineterm="",
            n=3,
        )
    )


def compare(
    old: Answer,
    new: Answer,
    *,
    old_id: str,
    new_id: str,
    compared_headers: Sequence[str] = (),
) -> list[Difference]:
    """What a client would see differ between the two answers (empty: they match)."""
    differences = []
    if old.status != new.status:
        differences.append(Difference("status", f"{old.status} vs {new.status}"))
    old_json, new_json = old.json(), new.json()
    if old_json is None or new_json is None:
        same_body = old.body == new.body
    else:
        same_body = old_json == new_json
    if not same_body:
        if (
            isinstance(old_json, dict)
            and isinstance(new_json, dict)
            and {**old_json, "next_token": None} == {**new_json, "next_token": None}
        ):
            differences.append(Difference("next_token", "the pages match; the tokens differ"))
        else:
            differences.append(Difference("body", _body_summary(old_json, new_json)))
    differences += [
        Difference(f"header {name}", f"{old.headers.get(name)} vs {new.headers.get(name)}")
        for name in (*EXACT_HEADERS, *(h.lower() for h in compared_headers))
        if old.headers.get(name) != new.headers.get(name)
    ]
    for name in PRESENCE_HEADERS:
        if (name in old.headers) != (name in new.headers):
            where = "old only" if name in old.headers else "new only"
            differences.append(Difference(f"header {name}", where))
    unechoed = [
        side
        for side, answer, sent in (("old", old, old_id), ("new", new, new_id))
        if answer.headers.get("x-request-id") != sent
    ]
    if unechoed:
        differences.append(Difference("x-request-id", f"not echoed by {' and '.join(unechoed)}"))
    return differences


def _body_summary(old: Any, new: Any) -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        return "fields differ: " + ", ".join(keys)
    return "bodies differ"


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


class _Pacer:
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
    pacer = _Pacer(rate)
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


def _fmt_ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def summary_rows(summary: Summary) -> list[tuple[str, str]]:
    rows = [
        ("requests", str(summary.requests)),
        ("matches", str(summary.matches)),
        ("mismatches", str(summary.mismatches)),
    ]
    rows += [(f"  {kind}", str(count)) for kind, count in sorted(summary.kinds.items())]
    rows.append(("errors", str(summary.errors)))
    for side in ("old", "new"):
        latency = summary.latency(side)
        rows.append(
            (f"{side} p50 / p99 ms", f"{_fmt_ms(latency['p50'])} / {_fmt_ms(latency['p99'])}")
        )
    return rows


def _label(name: str) -> str:
    """A summary row's name outside the terminal table: a kind names its parent row."""
    return f"mismatches: {name.strip()}" if name.startswith("  ") else name


def _title(exchange: Exchange) -> str:
    page = f", page {exchange.page}" if exchange.page > 1 else ""
    what = "error" if exchange.error else ", ".join(d.kind for d in exchange.differences)
    return f"Request {exchange.number}{page}: {what}"


def markdown_report(summary: Summary, *, limit: int = 100) -> str:
    """The report as Markdown: the summary, then each mismatch with a readable diff."""
    lines = [
        "# shadow report",
        "",
        f"- old: `{summary.old_label}`",
        f"- new: `{summary.new_label}`",
        f"- verdict: **{'no mismatch' if summary.ok else 'MISMATCHES OR ERRORS'}**",
        "",
        "| | |",
        "| --- | --- |",
        *(f"| {_label(name)} | {value} |" for name, value in summary_rows(summary)),
        "",
    ]
    for exchange in summary.problems[:limit]:
        lines += [f"## {_title(exchange)}", "", "Request body:", "", "```json"]
        lines += [exchange.body.decode(errors="replace"), "```", ""]
        lines.append(f"Request ids: `{exchange.old_id}` (old), `{exchange.new_id}` (new)")
        lines.append("")
        if exchange.error:
            lines += [f"Error: {exchange.error}", ""]
            continue
        for difference in exchange.differences:
            lines.append(f"- **{difference.kind}**: {difference.detail}")
        lines.append("")
        diff = body_diff(exchange.old, exchange.new)
        if diff:
            lines += ["```diff", *diff, "```", ""]
    if len(summary.problems) > limit:
        lines.append(f"({len(summary.problems) - limit} more not shown)")
    return "\n".join(lines) + "\n"


def html_report(summary: Summary, *, limit: int = 100) -> str:
    """The report as one HTML page: the summary, then a side-by-side diff per mismatch."""
    esc = html.escape
    rows = "".join(
        f"<tr><th>{esc(_label(name))}</th><td>{esc(value)}</td></tr>"
        for name, value in summary_rows(summary)
    )
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>shadow report</title>",
        "<style>body{font-family:sans-serif;margin:2em}table.diff{font-family:monospace;"
        "font-size:90%}.diff_add{background:#cfc}.diff_chg{background:#ffa}"
        ".diff_sub{background:#fcc}th{text-align:left;padding-right:1em}</style></head><body>",
        "<h1>shadow report</h1>",
        f"<p>old: <code>{esc(summary.old_label)}</code><br>new: "
        f"<code>{esc(summary.new_label)}</code></p>",
        f"<table>{rows}</table>",
    ]
    differ = difflib.HtmlDiff(wrapcolumn=80)
    for exchange in summary.problems[:limit]:
        parts.append(f"<h2>{esc(_title(exchange))}</h2>")
        parts.append(f"<pre>{esc(exchange.body.decode(errors='replace'))}</pre>")
        parts.append(
            f"<p>Request ids: <code>{esc(exchange.old_id)}</code> (old), "
            f"<code>{esc(exchange.new_id)}</code> (new)</p>"
        )
        if exchange.error:
            parts.append(f"<p>Error: {esc(exchange.error)}</p>")
            continue
        items = "".join(
            f"<li><b>{esc(d.kind)}</b>: {esc(d.detail)}</li>" for d in exchange.differences
        )
        parts.append(f"<ul>{items}</ul>")
        old_lines = _pretty(exchange.old.json(), exchange.old.body)
        new_lines = _pretty(exchange.new.json(), exchange.new.body)
        if old_lines != new_lines:
            parts.append(
                differ.make_table(old_lines, new_lines, "old", "new", context=True, numlines=3)
            )
    if len(summary.problems) > limit:
        parts.append(f"<p>({len(summary.problems) - limit} more not shown)</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
