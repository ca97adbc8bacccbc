"""The stand-ins behind the fixture's names: the EKS handler and the ALB's service, real
processes on 127.0.0.1 on the fixture's table in moto
(docs/decisions/0015-runbook-rehearsal.md#the-data-plane)."""

from __future__ import annotations

import base64
import functools
import json
import sys
from collections.abc import Callable, Mapping
from typing import Self

from query_devstack import DEFAULT_TABLE_NAME, free_port

from rehearsal._local import Http, Process, client, gateway, local_env, post
from rehearsal.legacy import is_marketing, marketing_answer

__all__ = ["EKS_HOST", "OLD_TOKEN_PREFIX", "StandIns"]

#: The fixture's EKS handler (``old_query_lambda.environment.EKS_HANDLER_URL``).
EKS_HOST = "query-handler.eks.internal"
_LEGACY_FUNCTION = "query_result_lambda"

#: How the EKS stand-in spells its tokens: not this service's shape (decision 11).
OLD_TOKEN_PREFIX = "eks-"  # noqa: S105 - a token's spelling, not a secret
_REFUSED = b'{"detail":"next_token is malformed"}'
_HOP = {"host", "content-length", "connection", "transfer-encoding", "date", "server"}
#: The EKS handler's marketing query: (body, headers) -> its answer.
Marketing = Callable[[bytes, dict[str, str]], tuple[int, dict[str, str], bytes]]


def _old_spelling(  # noqa: PLR0917 - one request's parts, as Http hands them
    upstream: str, marketing: Marketing, method: str, target: str, headers: dict[str, str],
    body: bytes,
) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    """The old EKS handler's side of the token split: ``upstream`` (the ECS service with
    ``RESULT_SOURCE=lambda``) behind its own token spelling, ``eks-`` and the service's token
    in base64url. A token not so spelled (the new side's) is 400, as the contract's answer to
    a malformed one, so a page that crosses paths is refused as it would be there. The
    marketing paths are the old handler's own query (``legacy.marketing_answer``)."""
    if is_marketing(target):
        return marketing(body, headers)
    json_type = {"content-type": "application/json"}
    sent = {k: v for k, v in headers.items() if k not in _HOP}
    try:
        document = json.loads(body) if body else None
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("next_token"), str):
        token = str(document["next_token"])
        if not token.startswith(OLD_TOKEN_PREFIX):
            return 400, json_type, _REFUSED
        try:
            document["next_token"] = base64.urlsafe_b64decode(
                token[len(OLD_TOKEN_PREFIX) :]
            ).decode()
        except (ValueError, UnicodeDecodeError):
            return 400, json_type, _REFUSED
        body = json.dumps(document).encode()
    status, got, payload = post(upstream, target, body, sent, method)
    out = {k: v for k, v in got.items() if k not in _HOP}
    if status == 200 and got.get("content-type", "").startswith("application/json"):
        answer = json.loads(payload)
        if isinstance(answer, dict) and isinstance(answer.get("next_token"), str):
            spelled = base64.urlsafe_b64encode(answer["next_token"].encode()).decode()
            answer["next_token"] = OLD_TOKEN_PREFIX + spelled
            payload = json.dumps(answer).encode()
    return status, out, payload


class StandIns:
    """The EKS handler and the ALB's service, on the fixture's table in moto."""

    def __init__(self, moto_url: str, *, region: str, table: str = DEFAULT_TABLE_NAME) -> None:
        self.moto_url = moto_url
        self.region = region
        self.table = table
        self.eks_url = ""
        self.alb_url = ""
        self._processes: list[Process] = []
        self._spelling: Http | None = None

    def start(self) -> None:
        local = local_env(self.moto_url, self.region)
        table = {**local, "RESULTS_TABLE_NAME": self.table}
        result = "lambdas.query_result.handler:handler"
        try:
            internal = self._run("internal-api", gateway(result, free_port(), "--stage", "prod"),
                                 table)  # fmt: skip
            invoke = self._run("invoke-api", gateway(result, free_port(), "--invoke",
                                                      _LEGACY_FUNCTION), table)  # fmt: skip
            alb = free_port()
            self._run("alb-service", [sys.executable, "-m", "ecs_service"],
                      {**local, "INTERNAL_API_URL": f"{internal.url}/prod", "HOST": "127.0.0.1",
                       "PORT": str(alb)}, port=alb)  # fmt: skip
            eks = free_port()
            legacy = self._run("eks-handler", [sys.executable, "-m", "ecs_service"],
                               {**local, "RESULT_SOURCE": "lambda",
                                "QUERY_RESULT_LAMBDA_NAME": _LEGACY_FUNCTION,
                                "AWS_ENDPOINT_URL": invoke.url, "HOST": "127.0.0.1",
                                "PORT": str(eks)}, port=eks)  # fmt: skip
            for process in self._processes:
                process.wait()
            dynamodb = client("dynamodb", self.moto_url, self.region)
            marketing: Marketing = functools.partial(marketing_answer, dynamodb, self.table)
            self._spelling = Http(lambda *request: _old_spelling(legacy.url, marketing, *request))
            self._spelling.start()
        except BaseException:
            self.stop()
            raise
        self.alb_url = f"http://127.0.0.1:{alb}"
        self.eks_url = self._spelling.url

    def _run(
        self, name: str, command: list[str], env: Mapping[str, str], port: int | None = None
    ) -> Process:
        if port is None:
            port = int(command[command.index("--port") + 1])
        process = Process(name, command, port, env)
        self._processes.append(process)
        return process

    def stop(self) -> None:
        if self._spelling is not None:
            self._spelling.stop()
            self._spelling = None
        while self._processes:
            self._processes.pop().stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def hosts(self) -> Callable[[str], str | None]:
        """The fixture's names -> the stand-ins' URLs: the EKS handler's name, and every load
        balancer's DNS name moto holds at the time of asking."""
        elbv2 = client("elbv2", self.moto_url, self.region)

        def host(name: str) -> str | None:
            if name == EKS_HOST:
                return self.eks_url
            if name.endswith(".elb.amazonaws.com"):
                balancers = elbv2.describe_load_balancers()["LoadBalancers"]
                # DNS names are case-insensitive (urlsplit lower-cases; moto keeps the case).
                if any(str(b.get("DNSName", "")).lower() == name for b in balancers):
                    return self.alb_url
            return None

        return host
