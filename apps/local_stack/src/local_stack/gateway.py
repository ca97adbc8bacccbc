"""``python -m local_stack.gateway``: one local API Gateway (or Lambda Invoke API) for a handler.

The handler is named like Lambda's ``Handler`` setting (``module.path:function``) and
reads its own environment, as on Lambda. With ``--invoke NAME`` it serves the Lambda
``Invoke`` API for a function of that name instead, as boto3 expects it.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

import uvicorn
from query_devstack import ApiGatewayFront, LambdaInvokeFront


def load_handler(spec: str) -> Any:
    """``package.module:function`` to the function."""
    module_name, _, attribute = spec.partition(":")
    if not attribute:
        raise SystemExit(f"--handler must be module:function, not {spec!r}")
    return getattr(importlib.import_module(module_name), attribute)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handler", required=True, help="module:function of the Lambda")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stage", default=None, help="path prefix such as prod (default: none)")
    parser.add_argument("--invoke", metavar="NAME", help="serve the Lambda Invoke API instead")
    parser.add_argument(
        "--api-id",
        default="local",
        help="the events' requestContext.apiId (the Query Lambda's PUBLIC_API_ID; default local)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=5.0,
        help="seconds requests in flight may take to finish after SIGTERM (default 5)",
    )
    args = parser.parse_args(argv)
    handler = load_handler(args.handler)
    front: Any
    if args.invoke:
        front = LambdaInvokeFront({args.invoke: handler})
    else:
        front = ApiGatewayFront(handler, stage=args.stage, api_id=args.api_id)
    uvicorn.run(
        front,
        host="127.0.0.1",
        port=args.port,
        log_config=None,
        access_log=False,  # the handler logs one line per request, with its request id
        server_header=False,
        timeout_graceful_shutdown=args.grace,
    )


if __name__ == "__main__":
    main()
