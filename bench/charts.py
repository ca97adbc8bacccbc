"""Charts of the service benchmark: throughput and p99 against concurrency (``nox -s bench``).

For each upstream (fast: 0 ms; slow: 50 ms) two SVG charts, the service against both
baselines measured in the same run: (a) the minimal FastAPI + aiohttp endpoint and (b) the
straightforward sync ``requests`` endpoint. docs/performance.md shows them.

Run alone: ``python bench/charts.py`` redraws them from ``.bench/results.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHARTS = ROOT / "docs" / "assets" / "bench"
SUBJECTS = {
    "service": "service (ecs_service)",
    "aiohttp_floor": "(a) FastAPI + aiohttp floor",
    "requests_sync": "(b) sync requests in a threadpool",
}
UPSTREAMS = {"fast": "upstream answers at once", "slow50ms": "upstream answers in 50 ms"}


def draw(service: dict[str, Any], out: Path = CHARTS) -> list[Path]:
    """Write the charts for ``results["service"]``; the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "query-service-bench"  # the same run draws the same file
    out.mkdir(parents=True, exist_ok=True)
    runs = service["runs"]
    written = []
    for upstream, title in UPSTREAMS.items():
        for metric, label in (("rps", "requests/s"), ("p99_us", "p99 latency (ms)")):
            figure, axes = plt.subplots(figsize=(6.4, 3.6))
            for subject, name in SUBJECTS.items():
                points = sorted(
                    (int(key.rsplit("/c", 1)[1]), run[metric])
                    for key, run in runs.items()
                    if key.startswith(f"{upstream}/{subject}/c")
                )
                xs = [c for c, _ in points]
                ys = [v / 1000 if metric == "p99_us" else v for _, v in points]
                axes.plot(xs, ys, marker="o", label=name)
            axes.set_xscale("log", base=2)
            axes.set_xticks(xs, [str(x) for x in xs])
            axes.set_ylim(bottom=0)
            axes.set_xlabel("concurrent connections (wrk)")
            axes.set_ylabel(label)
            axes.set_title(f"{label}, {title}")
            axes.grid(visible=True, alpha=0.3)
            axes.legend(fontsize="small")
            figure.tight_layout()
            path = out / f"{upstream}-{'throughput' if metric == 'rps' else 'p99'}.svg"
            figure.savefig(path, format="svg", metadata={"Date": None})
            plt.close(figure)
            written.append(path)
    return written


if __name__ == "__main__":
    results = json.loads((ROOT / ".bench" / "results.json").read_text())
    for path in draw(results["service"]):
        print(f"wrote {path.relative_to(ROOT)}")
