"""Benchmarks of the query service: ratios against baselines measured in the same run.

Run with ``nox -s bench``, which installs what it needs (Node.js from uv.lock, dynalite from
apps/local_stack/package-lock.json, Debian's wrk); a section that cannot run fails the run.
Nothing here asserts a target: it measures, prints a table, writes ``.bench/results.json`` and
draws the charts of docs/performance.md (``bench/charts.py``). A missed target is printed as
MISSED, so the numbers speak for themselves.

Measures
  1. Query Result Lambda cold init (fresh interpreter: import + client creation)
     against a bare ``boto3.client("dynamodb")`` + pydantic model baseline.  Target <= 1.15x.
  2. DynamoDB round trips per page (botocore event hooks): exactly 1 without ap_id.
  3. Page latency through the handler at 1,000 and at 100,000 items (1,000 users),
     on dynalite (moto's Query sorts the whole table per call, so it cannot show
     this).  Target ratio 100k/1k <= 1.3.
  4. The service under load (bench/service.py).
  5. What a page costs on DynamoDB Local: read units and round trips without and with
     ap_id, at 1,000 and 100,000 items per user (bench/capacity.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / ".bench" / "results.json"

BASELINE_INIT = """
import time
t0 = time.perf_counter()
import boto3
from pydantic import BaseModel
class Request(BaseModel):
    user_id: str
    limit: int = 20
Request.model_validate({"user_id": "u"})
boto3.client("dynamodb", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
print(time.perf_counter() - t0)
"""

URLLIB3_INIT = """
import time
t0 = time.perf_counter()
import urllib3
urllib3.PoolManager()
print(time.perf_counter() - t0)
"""

QUERY_LAMBDA_INIT = """
import time
t0 = time.perf_counter()
from lambdas.query import handler
handler.get_pool()
print(time.perf_counter() - t0)
"""

HANDLER_INIT = """
import time
t0 = time.perf_counter()
from lambdas.query_result import handler
handler.get_repository()
print(time.perf_counter() - t0)
"""


def _fresh(code: str, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return float(out.stdout.strip().splitlines()[-1])


def cold_init(rounds: int, baseline: str = BASELINE_INIT, subject: str = "") -> dict[str, Any]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "ENVIRONMENT": "local",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
    }
    subject = subject or HANDLER_INIT
    _fresh(baseline, env)  # warm the OS file cache for both
    _fresh(subject, env)
    base, handler = [], []
    for _ in range(rounds):  # interleaved, so drift hits both alike
        base.append(_fresh(baseline, env))
        handler.append(_fresh(subject, env))
    b, h = statistics.median(base), statistics.median(handler)
    return {"baseline_ms": b * 1000, "handler_ms": h * 1000, "ratio": h / b}


def _count_queries(client: Any) -> list[str]:
    calls: list[str] = []
    client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    return calls


def round_trips(endpoint: str) -> dict[str, Any]:
    from query_core import QueryRequest
    from query_core.dynamodb import ResultsRepository
    from query_devstack import create_results_table, demo_items, dynamodb_client, put_items

    client = dynamodb_client(endpoint)
    create_results_table(client, "rt")
    put_items(client, demo_items(per_user=60), "rt")
    repo = ResultsRepository(client, "rt")
    calls = _count_queries(client)
    per_page: list[int] = []
    token = None
    while True:
        before = len(calls)
        page = repo.query(QueryRequest(user_id="u-1001", limit=10, next_token=token))
        per_page.append(len(calls) - before)
        token = page.next_token
        if token is None:
            break
    filtered: list[int] = []
    token = None
    while True:
        before = len(calls)
        page = repo.query(
            QueryRequest(user_id="u-1001", ap_id="ap-search", limit=10, next_token=token)
        )
        filtered.append(len(calls) - before)
        token = page.next_token
        if token is None:
            break
    return {"without_ap_id": per_page, "with_ap_id": filtered, "kinds": sorted(set(calls))}


def _load(client: Any, table: str, users: int, per_user: int) -> None:
    from query_devstack import create_results_table, demo_items, put_items

    create_results_table(client, table)
    names = tuple(f"user-{n:05d}" for n in range(users))
    chunks = [names[i : i + 25] for i in range(0, users, 25)]

    def load(chunk: tuple[str, ...]) -> int:
        return put_items(client, demo_items(users=chunk, per_user=per_user), table)

    with ThreadPoolExecutor(4) as pool:
        written = sum(pool.map(load, chunks))
    print(f"  loaded {written:,} items into {table}", flush=True)


class Context:
    """The Lambda context the benchmark passes to the handler."""

    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def _page_latency(handler_module: Any, table: str, users: int, requests: int) -> float:
    os.environ["RESULTS_TABLE_NAME"] = table
    handler_module.get_settings.cache_clear()
    handler_module._repository = None
    samples = []
    for n in range(requests):
        event = {"user_id": f"user-{(n * 37) % users:05d}", "limit": 20}
        t0 = time.perf_counter()
        response = handler_module.handler(event, Context())
        samples.append(time.perf_counter() - t0)
        assert response["statusCode"] == 200, response
    return statistics.median(samples[len(samples) // 10 :])


def page_latency(dynalite_bin: str, requests: int) -> dict[str, Any]:
    from query_devstack import dynamodb_client, free_port

    port = free_port()
    data_dir = ROOT / ".bench" / "dynalite-data"
    subprocess.run(["rm", "-rf", str(data_dir)], check=True)
    proc = subprocess.Popen(
        [dynalite_bin, "--port", str(port), "--path", str(data_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                dynamodb_client(endpoint).list_tables()
                break
            except Exception:
                time.sleep(0.1)
        client = dynamodb_client(endpoint)
        _load(client, "small", users=10, per_user=100)
        _load(client, "large", users=1000, per_user=100)
        os.environ.update(
            LOG_LEVEL="WARNING",
            ENVIRONMENT="local",
            AWS_ENDPOINT_URL=endpoint,
            AWS_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
        )
        from lambdas.query_result import handler

        small = _page_latency(handler, "small", 10, requests)
        large = _page_latency(handler, "large", 1000, requests)
        return {
            "items_1k_ms": small * 1000,
            "items_100k_ms": large * 1000,
            "ratio": large / small,
            "target": 1.3,
        }
    finally:
        proc.terminate()
        proc.wait()


def _verdict(ratio: float, target: float) -> str:
    return "met" if ratio <= target else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=15, help="cold starts per side")
    parser.add_argument("--requests", type=int, default=300, help="pages per table")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per load run")
    parser.add_argument("--skip-service", action="store_true", help="only the Lambda figures")
    args = parser.parse_args()
    results: dict[str, Any] = {}

    print("1. cold init (fresh interpreter, median of", args.rounds, "each)", flush=True)
    results["cold_init"] = c = cold_init(args.rounds)
    print(f"   baseline boto3.client + pydantic model: {c['baseline_ms']:7.1f} ms")
    print(f"   Query Result Lambda import + client:    {c['handler_ms']:7.1f} ms")
    print(f"   ratio {c['ratio']:.2f}x  (target <= 1.15x: {_verdict(c['ratio'], 1.15)})")
    results["query_lambda_init"] = q = cold_init(args.rounds, URLLIB3_INIT, QUERY_LAMBDA_INIT)
    print(f"   baseline import urllib3 + PoolManager:   {q['baseline_ms']:7.1f} ms")
    print(f"   Query Lambda import + pool:             {q['handler_ms']:7.1f} ms")
    print(f"   ratio {q['ratio']:.2f}x  (target <= 1.2x: {_verdict(q['ratio'], 1.2)})")

    print("2. DynamoDB round trips per page (moto server)", flush=True)
    from query_devstack import DynamoDBEmulator

    with DynamoDBEmulator() as emulator:
        results["round_trips"] = r = round_trips(emulator.endpoint_url)
    exact = all(n == 1 for n in r["without_ap_id"])
    print(f"   without ap_id: {r['without_ap_id']}  (exactly 1 per page: {exact})")
    print(f"   with ap_id:    {r['with_ap_id']}  (operations used: {r['kinds']})")

    dynalite = os.environ.get("DYNALITE_BIN")
    if not dynalite or not Path(dynalite).exists():
        raise SystemExit(
            "error: 3. page latency needs dynalite: `nox -s bench` installs it (Node.js from "
            "uv.lock, dynalite from apps/local_stack/package-lock.json) and sets DYNALITE_BIN"
        )
    print("3. page latency through the handler (dynalite, LevelDB on disk)", flush=True)
    results["page_latency"] = p = page_latency(dynalite, args.requests)
    print(f"   1,000 items:   {p['items_1k_ms']:6.2f} ms per page (median)")
    print(f"   100,000 items: {p['items_100k_ms']:6.2f} ms per page (median)")
    print(f"   ratio {p['ratio']:.2f}x  (target <= 1.3x: {_verdict(p['ratio'], 1.3)})")

    if args.skip_service:
        print("4. service benchmark: not run (--skip-service)")
    else:
        print(
            "4. service under load (wrk, one uvicorn worker each; ratios in the same run)",
            flush=True,
        )
        sys.path.insert(0, str(Path(__file__).parent))
        import service

        results["service"] = service.run(args.seconds)
        print("\n".join(service.report(results["service"])))
        import charts

        for path in charts.draw(results["service"]):
            print(f"   chart: {path.relative_to(ROOT)}")

    print("5. what a page costs (DynamoDB Local: read units, round trips)", flush=True)
    sys.path.insert(0, str(Path(__file__).parent))
    import capacity

    results["page_cost"] = capacity.run(capacity.home_from_environ())
    print("\n".join(capacity.report(results["page_cost"])))

    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"results written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
