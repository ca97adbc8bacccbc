"""``nox -s load``: the local chain under load, through the external front, with wrk.

Starts ``python -m local_stack`` (DynamoDB Local as the emulator, or dynalite with
``nox -s load -- --dynalite``; free ports), measures where the
time goes (each hop alone for a few seconds at concurrency 16: the internal front, the
service, the external front), then drives the external front for ``--seconds`` at
``--connections`` and checks the targets of docs/performance.md#the-local-chain-under-load:

    0 non-2xx answers, 0 socket errors, p99 below the service's deadline (10 s),
    at least 150 requests/s (on the 2 cores of the reference machine).

Prints a table, writes ``.bench/load.json`` and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from local_stack.background import BackgroundChain

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = ROOT / ".bench" / "load.json"
SERVICE_DEADLINE_S = 10.0


def wrk(url: str, connections: int, seconds: int, threads: int = 2) -> dict[str, Any]:
    """One wrk run with bench/wrk_post.lua; its JSON summary plus requests/s."""
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "15s",
            "-s",
            str(HERE / "wrk_post.lua"),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith("WRK_JSON "))
    result: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def _line(label: str, r: dict[str, Any]) -> str:
    return (
        f"   {label:<34} {r['rps']:7.0f} req/s  p50 {r['p50_us'] / 1000:7.1f} ms  "
        f"p99 {r['p99_us'] / 1000:7.1f} ms  non-2xx {r['non_2xx']}  socket errors "
        f"{r['socket_errors']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--min-rps", type=float, default=150.0)
    emulators = parser.add_mutually_exclusive_group()
    emulators.add_argument("--dynamodb-local", metavar="DIR")
    emulators.add_argument("--dynalite", nargs=2, metavar=("NODE", "SCRIPT"), default=[])
    parser.add_argument("--skip-hops", action="store_true", help="only the main run")
    args = parser.parse_args()

    load_before = os.getloadavg()
    RESULTS.parent.mkdir(exist_ok=True)
    if args.dynamodb_local:
        emulator, chosen = "DynamoDB Local", ["--dynamodb-local", args.dynamodb_local]
    else:
        emulator = "dynalite" if args.dynalite else "moto"
        chosen = ["--dynalite", *args.dynalite] if args.dynalite else []
    chain = BackgroundChain(
        args=["--log-format", "json", *chosen], log=ROOT / ".bench" / "load-chain.log"
    )
    results: dict[str, Any] = {
        "cores": os.cpu_count(),
        "loadavg_before": load_before,
        "emulator": emulator,
    }
    try:
        chain.wait_ready(120)
        print(f"the chain is up (emulator: {emulator}); load average {load_before[0]:.1f}")
        front = chain.url("external", "/query/result")
        wrk(front, 16, 3)  # warm-up: connections, caches, first imports
        if not args.skip_hops:
            print("where the time goes (each hop alone, 16 connections, 5 s):", flush=True)
            hops = {}
            for name, label in (
                ("internal", "internal front (QRL + emulator)"),
                ("service", "service (+ internal front)"),
                ("external", "external front (whole chain)"),
            ):
                hops[name] = wrk(chain.url(name, "/query/result"), 16, 5)
                print(_line(label, hops[name]), flush=True)
            results["hops"] = hops
        print(
            f"through the external front: {args.connections} connections, {args.seconds} s",
            flush=True,
        )
        main_run = wrk(front, args.connections, args.seconds)
        results["external"] = main_run
        print(_line("external front", main_run))
    finally:
        chain.stop()
    results["loadavg_after"] = os.getloadavg()
    checks = {
        "0 non-2xx answers": main_run["non_2xx"] == 0,
        "0 socket errors": main_run["socket_errors"] == 0,
        f"p99 below the service's deadline ({SERVICE_DEADLINE_S:.0f} s)": main_run["p99_us"]
        < SERVICE_DEADLINE_S * 1e6,
        f">= {args.min_rps:.0f} requests/s": main_run["rps"] >= args.min_rps,
    }
    results["checks"] = checks
    for what, met in checks.items():
        print(f"   {what}: {'met' if met else 'MISSED'}")
    print(
        f"   (load average before/after: {load_before[0]:.1f}/{results['loadavg_after'][0]:.1f} "
        f"on {os.cpu_count()} cores: other work on the machine lowers these figures)"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"results written to {RESULTS.relative_to(ROOT)}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
