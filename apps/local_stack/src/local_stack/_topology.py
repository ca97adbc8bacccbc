"""The chain as data: which processes, on which ports, with which environment, in which order.

    DynamoDB emulator (DynamoDB Local or dynalite when given, else moto's server; demo data)
      <- internal API   (local API Gateway, stage /prod, Query Result Lambda's handler)
      <- ECS service    (uvicorn, INTERNAL_API_URL -> internal API)
      <- external API   (local API Gateway, Query Lambda's handler, EKS_HANDLER_URL -> service)
    and the rollback path beside it:
    DynamoDB <- Lambda Invoke API (Query Result Lambda) <- ECS service with RESULT_SOURCE=lambda

``chain()`` returns the parts in start order; they are stopped in the reverse order.
Nothing here starts a process (``local_stack._processes`` does).
"""

from __future__ import annotations

import json
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from query_devstack import (
    DEFAULT_TABLE_NAME,
    dynalite_command,
    dynamodb_local_command,
    moto_command,
)

__all__ = [
    "EXTERNAL_API_ID",
    "FRONT_GRACE_SECONDS",
    "LEGACY_FUNCTION",
    "LOCAL_ENVIRONMENT",
    "SERVICE_GRACE_SECONDS",
    "Part",
    "Ports",
    "chain",
    "emulator",
]

#: How long a local API Gateway front lets requests in flight finish after SIGTERM.
FRONT_GRACE_SECONDS = 5.0
#: The same for the service (``timeout_graceful_shutdown`` in ``ecs_service.__main__``).
SERVICE_GRACE_SECONDS = 20.0
LEGACY_FUNCTION = "query_result_lambda"
#: The external API's id in its events, and so the Query Lambda's ``PUBLIC_API_ID``: it takes
#: only that API's events, as deployed (docs/contract.md#side-doors).
EXTERNAL_API_ID = "local-external"
#: Every part runs with these: ENVIRONMENT=local and the emulator's dummy credentials.
LOCAL_ENVIRONMENT = {
    "ENVIRONMENT": "local",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class Ports:
    """The port of each listening part (all on 127.0.0.1)."""

    external: int = 8080
    service: int = 8000
    internal: int = 8001
    dynamodb: int = 4566
    legacy_service: int = 8002
    invoke: int = 8003

    def named(self) -> dict[str, int]:
        """Each port with the words the command line and its errors use."""
        return {
            "external API": self.external,
            "ECS service": self.service,
            "internal API": self.internal,
            "DynamoDB emulator": self.dynamodb,
            "legacy ECS service": self.legacy_service,
            "Lambda Invoke API": self.invoke,
        }


@dataclass(frozen=True)
class Part:
    """One process of the chain: its name (and log file), command, port and environment."""

    name: str
    command: tuple[str, ...]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    #: Seconds it may take to finish its requests and exit after SIGTERM (then: SIGKILL).
    grace: float = FRONT_GRACE_SECONDS + 1
    #: Whether its lines are shown on the console (they always go to ``--log-dir``).
    shown: bool = True


def _python(*args: str) -> tuple[str, ...]:
    return (sys.executable, *args)


def _gateway(handler: str, port: int, *extra: str) -> tuple[str, ...]:
    return _python(
        "-m",
        "local_stack.gateway",
        "--handler",
        handler,
        "--port",
        str(port),
        "--grace",
        str(FRONT_GRACE_SECONDS),
        *extra,
    )


def emulator(
    ports: Ports,
    *,
    dynalite: tuple[str, str] | None = None,
    dynamodb_local: Path | None = None,
) -> Part:
    """The DynamoDB emulator: DynamoDB Local when the folder of its jar is given, dynalite
    when ``(node, script)`` is, else moto's server."""
    if dynamodb_local is not None:
        command = dynamodb_local_command(dynamodb_local, ports.dynamodb)
    elif dynalite is not None:
        command = dynalite_command(*dynalite, ports.dynamodb)
    else:
        command = moto_command(ports.dynamodb)
    env = {"MOTO_PORT": str(ports.dynamodb)}
    # Its lines are one per DynamoDB call, not news: they go to the log file only.
    return Part("dynamodb", tuple(command), ports.dynamodb, env, shown=False)


def chain(
    ports: Ports,
    *,
    dynalite: tuple[str, str] | None = None,
    dynamodb_local: Path | None = None,
) -> list[Part]:
    """Every part in start order: the emulator first, each caller after what it calls."""
    emulator_url = f"http://127.0.0.1:{ports.dynamodb}"
    table = {"AWS_ENDPOINT_URL": emulator_url, "RESULTS_TABLE_NAME": DEFAULT_TABLE_NAME}
    query_result = "lambdas.query_result.handler:handler"
    # A key per run, shared by the Query Lambda and the service (docs/contract.md#caller-proof).
    proof = {"CALLER_PROOF_KEYS": json.dumps({"keys": [secrets.token_urlsafe(32)]})}
    return [
        emulator(ports, dynalite=dynalite, dynamodb_local=dynamodb_local),
        Part(
            "query-result-lambda",
            _gateway(query_result, ports.internal, "--stage", "prod"),
            ports.internal,
            table,
        ),
        Part(
            "ecs-service",
            _python("-m", "ecs_service"),
            ports.service,
            {
                "INTERNAL_API_URL": f"http://127.0.0.1:{ports.internal}/prod",
                "HOST": "127.0.0.1",
                "PORT": str(ports.service),
                **proof,
            },
            grace=SERVICE_GRACE_SECONDS + 1,
        ),
        Part(
            "query-lambda",
            _gateway("lambdas.query.handler:handler", ports.external, "--api-id", EXTERNAL_API_ID),
            ports.external,
            {
                "EKS_HANDLER_URL": f"http://127.0.0.1:{ports.service}",
                "PUBLIC_API_ID": EXTERNAL_API_ID,
                **proof,
            },
        ),
        Part(
            "lambda-invoke-api",
            _gateway(query_result, ports.invoke, "--invoke", LEGACY_FUNCTION),
            ports.invoke,
            table,
        ),
        Part(
            "ecs-service-legacy",
            _python("-m", "ecs_service"),
            ports.legacy_service,
            {
                "RESULT_SOURCE": "lambda",
                "QUERY_RESULT_LAMBDA_NAME": LEGACY_FUNCTION,
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{ports.invoke}",
                "HOST": "127.0.0.1",
                "PORT": str(ports.legacy_service),
            },
            grace=SERVICE_GRACE_SECONDS + 1,
        ),
    ]
