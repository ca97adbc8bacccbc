"""``python -m local_stack`` (``nox -s serve``): the whole chain on 127.0.0.1.

    DynamoDB emulator (moto server, demo data)
      <- internal API   (local API Gateway, stage /prod, Query Result Lambda's handler)
      <- ECS service    (uvicorn, INTERNAL_API_URL -> internal API)
      <- external API   (local API Gateway, Query Lambda's handler, EKS_HANDLER_URL -> service)
    and the rollback path beside it:
    DynamoDB <- Lambda Invoke API (Query Result Lambda) <- ECS service with RESULT_SOURCE=lambda

Every part is a real process; ENVIRONMENT=local throughout. Ctrl-C stops them all.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from query_devstack import (
    DEFAULT_TABLE_NAME,
    EmulatorProcess,
    create_results_table,
    demo_items,
    dynamodb_client,
    free_port,
    put_items,
)

LEGACY_FUNCTION = "query_result_lambda"
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class Part:
    """One process of the chain, its port and where its log lines go."""

    name: str
    args: list[str]
    port: int
    env: dict[str, str]
    log_dir: Path | None
    process: subprocess.Popen[bytes] | None = None
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, *self.args],
            env={**os.environ, **LOCAL_CREDENTIALS, "ENVIRONMENT": "local", **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us; we stop the parts in order
        )
        log = (self.log_dir / f"{self.name}.log").open("ab") if self.log_dir else None
        thread = threading.Thread(
            target=_pump, args=(self.name, self.process.stdout, log), daemon=True
        )
        thread.start()
        self.threads.append(thread)

    def wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not listen on port {self.port} in time")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _pump(name: str, stream: IO[bytes] | None, log: IO[bytes] | None) -> None:
    if stream is None:
        return
    for line in iter(stream.readline, b""):
        if log is not None:
            log.write(line)
            log.flush()
        sys.stdout.write(f"[{name}] {line.decode(errors='replace')}")
        sys.stdout.flush()
    if log is not None:
        log.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _check_free(port: int, what: str) -> None:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise SystemExit(
                f"error: port {port} ({what}) is in use; choose another with its --*-port option"
            ) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="nox -s serve --", description="The whole query chain on 127.0.0.1."
    )
    parser.add_argument(
        "--external-port", type=int, default=8080, help="external API (default 8080)"
    )
    parser.add_argument("--service-port", type=int, default=8000, help="ECS service (default 8000)")
    parser.add_argument(
        "--internal-port", type=int, default=8001, help="internal API (default 8001)"
    )
    parser.add_argument(
        "--dynamodb-port", type=int, default=4566, help="DynamoDB emulator; 0: any free"
    )
    parser.add_argument(
        "--legacy-service-port",
        type=int,
        default=8002,
        help="ECS service with RESULT_SOURCE=lambda (rollback path); 0: any free",
    )
    parser.add_argument(
        "--invoke-port", type=int, default=8003, help="local Lambda Invoke API; 0: any free"
    )
    parser.add_argument("--log-dir", type=Path, help="also write each part's log to DIR/<part>.log")
    parser.add_argument(
        "--once", action="store_true", help="start, print, and stop (a smoke check)"
    )
    args = parser.parse_args(argv)
    ports = {
        "external API": args.external_port or free_port(),
        "ECS service": args.service_port or free_port(),
        "internal API": args.internal_port or free_port(),
        "DynamoDB emulator": args.dynamodb_port or free_port(),
        "legacy ECS service": args.legacy_service_port or free_port(),
        "Lambda Invoke API": args.invoke_port or free_port(),
    }
    for what, port in ports.items():
        _check_free(port, what)
    if args.log_dir:
        args.log_dir.mkdir(parents=True, exist_ok=True)

    # Ctrl-C and SIGTERM both stop the chain in order (SIGINT explicitly: a shell that
    # starts us in the background would otherwise leave it ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    emulator = EmulatorProcess(ports["DynamoDB emulator"])
    parts: list[Part] = []
    try:
        emulator.start()
        client = dynamodb_client(emulator.endpoint_url)
        create_results_table(client, DEFAULT_TABLE_NAME)
        seeded = put_items(client, demo_items(), DEFAULT_TABLE_NAME)
        internal_url = f"http://127.0.0.1:{ports['internal API']}/prod"
        service_url = f"http://127.0.0.1:{ports['ECS service']}"
        external_url = f"http://127.0.0.1:{ports['external API']}"
        parts = [
            Part(
                "query-result-lambda",
                ["-m", "local_stack.gateway", "--handler", "lambdas.query_result.handler:handler",
                 "--port", str(ports["internal API"]), "--stage", "prod"],
                ports["internal API"],
                {"AWS_ENDPOINT_URL": emulator.endpoint_url,
                 "RESULTS_TABLE_NAME": DEFAULT_TABLE_NAME},
                args.log_dir,
            ),
            Part(
                "ecs-service",
                ["-m", "ecs_service"],
                ports["ECS service"],
                {"INTERNAL_API_URL": internal_url, "PORT": str(ports["ECS service"]),
                 "HOST": "127.0.0.1"},
                args.log_dir,
            ),
            Part(
                "query-lambda",
                ["-m", "local_stack.gateway", "--handler", "lambdas.query.handler:handler",
                 "--port", str(ports["external API"])],
                ports["external API"],
                {"EKS_HANDLER_URL": service_url},
                args.log_dir,
            ),
            Part(
                "lambda-invoke-api",
                ["-m", "local_stack.gateway", "--handler", "lambdas.query_result.handler:handler",
                 "--port", str(ports["Lambda Invoke API"]), "--invoke", LEGACY_FUNCTION],
                ports["Lambda Invoke API"],
                {"AWS_ENDPOINT_URL": emulator.endpoint_url,
                 "RESULTS_TABLE_NAME": DEFAULT_TABLE_NAME},
                args.log_dir,
            ),
            Part(
                "ecs-service-legacy",
                ["-m", "ecs_service"],
                ports["legacy ECS service"],
                {"RESULT_SOURCE": "lambda", "QUERY_RESULT_LAMBDA_NAME": LEGACY_FUNCTION,
                 "AWS_ENDPOINT_URL": f"http://127.0.0.1:{ports['Lambda Invoke API']}",
                 "PORT": str(ports["legacy ECS service"]), "HOST": "127.0.0.1"},
                args.log_dir,
            ),
        ]  # fmt: skip
        for part in parts:
            part.start()
        deadline = time.monotonic() + 30
        for part in parts:
            part.wait_ready(deadline)
        elapsed = time.monotonic() - started
        print(
            f"""
The query chain is up ({elapsed:.1f} s), ENVIRONMENT=local, {seeded} demo results:

  external API (Query Lambda)         {external_url}
  ECS service (FastAPI)               {service_url}        docs: {service_url}/docs
  internal API (Query Result Lambda)  {internal_url}
  DynamoDB emulator (moto)            {emulator.endpoint_url}   table: {DEFAULT_TABLE_NAME}
  rollback path: ECS service with RESULT_SOURCE=lambda
                                      http://127.0.0.1:{ports["legacy ECS service"]}
  Lambda Invoke API ({LEGACY_FUNCTION})  http://127.0.0.1:{ports["Lambda Invoke API"]}

Try:
  curl -s -X POST {external_url}/query/result \\
       -H 'Content-Type: application/json' -H 'X-Request-Id: try-1' \\
       -d '{{"user_id": "u-1001", "limit": 3}}'

Demo users u-1001..u-1004; ap_id values ap-billing, ap-search, ap-reports.
Ctrl-C stops everything.
READY""",
            flush=True,
        )
        if not args.once:
            while all(part.process and part.process.poll() is None for part in parts):
                time.sleep(0.5)
            print("a part of the chain stopped; stopping the rest", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        for part in reversed(parts):
            part.stop()
        emulator.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
