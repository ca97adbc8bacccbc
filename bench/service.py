"""Service benchmark: the ECS service against two baselines measured in the same run.

Load comes from wrk (a separate process: Debian's ``wrk``, which ``nox -s bench`` installs) on
127.0.0.1; the upstream is a canned internal API (``subjects.py upstream``), fast (0 ms) or
slow (50 ms). Every subject runs under uvicorn with one worker:

    service          ecs_service.asgi:app (the real app: validation, request ids, JSON logs at
                     INFO, deadline, retries, retry budget, circuit breaker)
    service_plain    the same app with UPSTREAM_RESILIENCE=false (one attempt, no budget/breaker)
    service_fastapi  the same app with HOT_PATH=false (POST /query/result through FastAPI)
    (a) floor        a minimal FastAPI endpoint calling the upstream with aiohttp directly
    raw_asgi_floor   the same call from a bare ASGI callable (no framework), for reference
    (b) straight     a sync requests.post per request in a threadpool endpoint
    httpx2           the floor endpoint on httpx2, for the HTTP-stack decision

Targets: service >= 0.85x (a) in req/s at concurrency 64 with the fast upstream;
service >= 2x (b) at concurrency 256 with the 50 ms upstream; service RSS after 20,000
requests under 150 MB and not growing over the last half.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from query_devstack import free_port, wait_listening

HERE = Path(__file__).resolve().parent
CONCURRENCY = (1, 16, 64, 256)
#: The service's subjects: ecs_service.asgi:app under these settings.
SERVICES: dict[str, dict[str, str]] = {
    "service": {},
    "service_plain": {"UPSTREAM_RESILIENCE": "false"},
    "service_fastapi": {"HOT_PATH": "false"},
}


def _start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        args, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_listening(port, name=f"bench subject on port {port}", process=process, timeout=90)
    except RuntimeError:
        _stop(process)
        raise
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_subject(name: str, upstream_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    if name in SERVICES:
        args = [
            sys.executable,
            "-m",
            "uvicorn",
            "ecs_service.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        env = {
            "ENVIRONMENT": "local",
            "INTERNAL_API_URL": upstream_url,
            "LOG_LEVEL": "INFO",
            **SERVICES[name],
        }
    else:
        args = [sys.executable, str(HERE / "subjects.py"), name, str(port)]
        env = {"UPSTREAM_URL": upstream_url}
    return _start(args, env, port), f"http://127.0.0.1:{port}/query/result"


def wrk(url: str, concurrency: int, seconds: float) -> dict[str, Any]:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{concurrency}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(HERE / "wrk_post.lua"),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith("WRK_JSON "))
    result = json.loads(line.removeprefix("WRK_JSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def paired(
    a: str, b: str, upstream_url: str, concurrency: int, seconds: float, *, rounds: int = 5
) -> dict[str, Any]:
    """A against B with both running, alternating runs so that drift hits both alike.

    Besides requests per second, each subject's CPU time per request (from /proc): on a
    shared machine the steadier of the two, since it does not depend on who else runs.
    """
    pa, url_a = start_subject(a, upstream_url)
    pb, url_b = start_subject(b, upstream_url)
    try:
        wrk(url_a, 16, 1)
        wrk(url_b, 16, 1)
        rps: dict[str, list[float]] = {a: [], b: []}
        cpu_us: dict[str, list[float]] = {a: [], b: []}
        for _ in range(rounds):
            for name, process, url in ((a, pa, url_a), (b, pb, url_b)):
                before = cpu_seconds(process.pid)
                result = wrk(url, concurrency, seconds)
                rps[name].append(result["rps"])
                cpu_us[name].append((cpu_seconds(process.pid) - before) / result["requests"] * 1e6)
    finally:
        _stop(pa)
        _stop(pb)
    ratios = [x / y for x, y in zip(rps[a], rps[b], strict=True)]
    cpu_ratios = [x / y for x, y in zip(cpu_us[a], cpu_us[b], strict=True)]
    return {
        "a": a,
        "b": b,
        "rps_a": rps[a],
        "rps_b": rps[b],
        "cpu_us_a": cpu_us[a],
        "cpu_us_b": cpu_us[b],
        "ratio": statistics.median_high(ratios),
        "cpu_ratio": statistics.median_high(cpu_ratios),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(seconds: float = 5.0) -> dict[str, Any]:
    if shutil.which("wrk") is None:  # `nox -s bench` installs it; a missing section is a failure
        raise SystemExit("error: wrk is not installed (Debian: apt-get install wrk)")
    upstreams = {}
    results: dict[str, Any] = {"seconds": seconds, "runs": {}}
    processes = []
    try:
        for label, delay in (("fast", "0"), ("slow50ms", "50")):
            port = free_port()
            processes.append(
                _start(
                    [sys.executable, str(HERE / "subjects.py"), "upstream", str(port)],
                    {"UPSTREAM_DELAY_MS": delay},
                    port,
                )
            )
            upstreams[label] = f"http://127.0.0.1:{port}/prod"
        plan = [(u, s) for u in upstreams for s in ("service", "aiohttp_floor", "requests_sync")]
        plan.append(("fast", "httpx2_floor"))
        plan.append(("fast", "service_plain"))
        for upstream, subject in plan:
            process, url = start_subject(subject, upstreams[upstream])
            try:
                wrk(url, 16, 1)  # warm-up
                for concurrency in CONCURRENCY:
                    result = wrk(url, concurrency, seconds)
                    results["runs"][f"{upstream}/{subject}/c{concurrency}"] = result
                    print(
                        f"   {upstream:8} {subject:14} c={concurrency:<3} "
                        f"{result['rps']:8.0f} req/s  p50 {result['p50_us'] / 1000:7.2f} ms  "
                        f"p99 {result['p99_us'] / 1000:7.2f} ms  errors {result['errors']}",
                        flush=True,
                    )
            finally:
                _stop(process)
        results["paired_floor"] = paired("service", "aiohttp_floor", upstreams["fast"], 64, seconds)
        results["paired_hardening"] = paired(
            "service", "service_plain", upstreams["fast"], 64, seconds
        )
        results["paired_raw_asgi"] = paired(
            "service", "raw_asgi_floor", upstreams["fast"], 64, seconds
        )
        results["paired_hot_path"] = paired(
            "service", "service_fastapi", upstreams["fast"], 64, seconds
        )
        process, url = start_subject("service", upstreams["fast"])
        try:
            samples = []
            total = 0
            while total < 20_000:
                total += wrk(url, 64, 1)["requests"]
                samples.append((total, rss_mb(process.pid)))
            results["rss"] = samples
        finally:
            _stop(process)
    finally:
        for process in processes:
            _stop(process)
    return results


def report(results: dict[str, Any]) -> list[str]:
    """The table: service req/s and latencies as ratios against (a) and (b)."""
    runs = results["runs"]
    lines = [
        "",
        "   upstream  c    service req/s   vs (a) floor   vs (b) straight   "
        "p50 ms (a/b)        p99 ms (a/b)",
    ]
    for upstream in ("fast", "slow50ms"):
        for c in CONCURRENCY:
            s = runs[f"{upstream}/service/c{c}"]
            a = runs[f"{upstream}/aiohttp_floor/c{c}"]
            b = runs[f"{upstream}/requests_sync/c{c}"]
            lines.append(
                f"   {upstream:8} {c:4} {s['rps']:11.0f} {s['rps'] / a['rps']:12.2f}x "
                f"{s['rps'] / b['rps']:14.2f}x   "
                f"{s['p50_us'] / 1000:6.1f} ({a['p50_us'] / 1000:.1f}/{b['p50_us'] / 1000:.1f})   "
                f"{s['p99_us'] / 1000:6.1f} ({a['p99_us'] / 1000:.1f}/{b['p99_us'] / 1000:.1f})"
            )
    floor = results["paired_floor"]["ratio"]
    straight = runs["slow50ms/service/c256"]["rps"] / runs["slow50ms/requests_sync/c256"]["rps"]
    httpx2 = runs["fast/httpx2_floor/c64"]["rps"] / runs["fast/aiohttp_floor/c64"]["rps"]
    hardened = results["paired_hardening"]["ratio"]
    raw, hot = results["paired_raw_asgi"], results["paired_hot_path"]
    rss = results["rss"]
    half = rss[len(rss) // 2][1]
    last = rss[-1][1]
    lines += [
        "",
        "   paired runs (both up, alternating; median of the per-round ratios):",
        f"   service vs (a) at c64, fast upstream:   {floor:.2f}x  (target >= 0.85x: "
        f"{'met' if floor >= 0.85 else 'MISSED'}); CPU per request "
        f"{results['paired_floor']['cpu_ratio']:.2f}x the floor's",
        f"   service vs (b) at c256, 50 ms upstream: {straight:.2f}x  (target >= 2x: "
        f"{'met' if straight >= 2 else 'MISSED'})",
        f"   httpx2 floor vs aiohttp floor at c64:    {httpx2:.2f}x  (HTTP-stack choice)",
        f"   retries+budget+breaker on vs off, c64:   {hardened:.2f}x  (target >= 0.95x: "
        f"{'met' if hardened >= 0.95 else 'MISSED'})",
        f"   service vs raw ASGI + aiohttp, c64:      {raw['ratio']:.2f}x  (no framework at all; "
        f"for reference); CPU per request {raw['cpu_ratio']:.2f}x",
        f"   hot path on vs HOT_PATH=false, c64:      {hot['ratio']:.2f}x  (for reference); CPU "
        f"per request {hot['cpu_ratio']:.2f}x",
        f"   service RSS: {half:.0f} MB at {rss[len(rss) // 2][0]:,} requests, {last:.0f} MB at "
        f"{rss[-1][0]:,} (target < 150 MB and flat: "
        f"{'met' if last < 150 and last - half < 5 else 'MISSED'})",
    ]
    return lines
