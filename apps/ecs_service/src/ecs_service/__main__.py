"""``python -m ecs_service`` (or ``query-service``): uvicorn, host/port/workers from settings."""

from __future__ import annotations

import sys

import uvicorn
from pydantic import ValidationError

from ecs_service.settings import ServiceSettings


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]).upper()
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def main() -> int:
    """Validate the settings (one clear line on failure), then serve."""
    try:
        settings = ServiceSettings()
    except ValidationError as exc:
        print(f"query-service: invalid configuration: {_first_error(exc)}", file=sys.stderr)
        return 2
    uvicorn.run(
        "ecs_service.asgi:app",
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=None,  # the app's JSON logging
        access_log=False,  # the app logs one line per request, with its request id
        # The only caller is the Query Lambda through the internal ALB: X-Forwarded-* would
        # tell nothing the service uses, and trusting it from any peer would let a caller
        # choose the scheme and address the app sees.
        proxy_headers=False,
        timeout_graceful_shutdown=20,
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
