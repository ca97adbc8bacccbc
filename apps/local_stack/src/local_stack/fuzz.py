"""``python -m local_stack.fuzz`` (``nox -s schemathesis``): the OpenAPI document, fuzzed.

Starts the chain on free ports, then runs ``schemathesis run`` with every check (less
those named with ``--exclude-checks``, whose reasons the noxfile gives) twice, from the
service's own ``/openapi.json``:

1. against the ECS service: every operation;
2. through the external front (the Query Lambda behind the local API Gateway): the public
   operations only (``/query/...``; the service's ``/health`` is not public, 404 there).

Exits non-zero on any failure, or when fewer than ``--min-cases`` cases were generated.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from local_stack.background import BackgroundChain

__all__ = ["main"]

CONFIG = Path(__file__).with_name("schemathesis.toml")
_GENERATED = re.compile(r"(\d+) generated")


def _run(
    schema: str, base_url: str, options: list[str], extra: list[str], report: Path
) -> tuple[int, int]:
    """One schemathesis run; its exit status and the number of cases it generated."""
    command = [
        "schemathesis",
        "--config-file",
        str(CONFIG),
        "run",
        schema,
        "--url",
        base_url,
        "--checks",
        "all",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        *options,
        *extra,
    ]
    print("$ " + " ".join(command), flush=True)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    print(result.stdout, result.stderr, sep="\n", flush=True)
    found = _GENERATED.findall(result.stdout)
    return result.returncode, int(found[-1]) if found else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack.fuzz", description=__doc__)
    parser.add_argument("--dynalite", nargs=2, metavar=("NODE", "SCRIPT"), default=[])
    parser.add_argument("--max-examples", type=int, default=150, help="per operation and run")
    parser.add_argument("--min-cases", type=int, default=1000, help="in both runs together")
    parser.add_argument("--reports", type=Path, default=Path(".schemathesis"))
    parser.add_argument("extra", nargs="*", help="more schemathesis options, e.g. --exclude-checks")
    args = parser.parse_args(argv)
    args.reports.mkdir(parents=True, exist_ok=True)
    dynalite = ["--dynalite", *args.dynalite] if args.dynalite else []
    chain = BackgroundChain(
        args=["--log-format", "json", *dynalite], log=args.reports / "chain.log"
    )
    options = ["--max-examples", str(args.max_examples), "--seed", "20261126"]
    try:
        chain.wait_ready(120)
        schema = chain.url("service", "/openapi.json")
        service = _run(
            schema, chain.url("service"), options, args.extra, args.reports / "service.xml"
        )
        public = ["--include-path-regex", "^/query/"]
        front = _run(
            schema,
            chain.url("external"),
            [*options, *public],
            args.extra,
            args.reports / "external.xml",
        )
    finally:
        chain.stop()
    cases = service[1] + front[1]
    print(
        f"schemathesis: {service[1]} cases against the service (exit {service[0]}), "
        f"{front[1]} through the external front (exit {front[0]}); {cases} in all "
        f"(at least {args.min_cases} wanted)"
    )
    if service[0] or front[0]:
        return 1
    if cases < args.min_cases:
        print(f"error: only {cases} cases were generated", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
