"""The public front's access log, written as API Gateway writes a stage's: one line per request
to the CloudWatch Logs group of the stage's ``accessLogSettings``, in its ``format`` at that
moment, each ``$context.*`` variable it names resolved (one the front does not know: ``-``).

docs/decisions/0015-runbook-rehearsal.md#the-access-log. What reads it: ``retire-marketing``,
which counts the lines naming ``/query/marketing`` (the path's use) from the stage's log.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from rehearsal._local import client

__all__ = ["AccessLog", "LoggedRequest", "resolve", "variables"]

#: ``$context.`` and a dotted name (a trailing dot is text, not the variable's).
_VARIABLE = re.compile(r"\$context\.[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")


@dataclass(frozen=True)
class LoggedRequest:
    """What API Gateway knows of one request when it logs it."""

    request_id: str
    method: str
    #: The path as requested, the stage's name first (``$context.path``).
    path: str
    #: The resource that matched (``$context.resourcePath``), or ``-`` (none did).
    resource_path: str
    status: int
    response_length: int
    started: float
    api_id: str
    stage: str
    resource_id: str = "-"
    account_id: str = "123456789012"
    source_ip: str = "127.0.0.1"
    user_agent: str = "-"
    protocol: str = "HTTP/1.1"
    domain: str = "-"
    #: The authorizer's claims (``$context.authorizer.claims.<name>``); empty: not authorized.
    claims: Mapping[str, str] = field(default_factory=dict)
    error: str = "-"
    latency_ms: int = 0


def variables(request: LoggedRequest) -> dict[str, str]:
    """The ``$context.`` variables (without the prefix) the front resolves, as AWS spells them."""
    when = time.gmtime(request.started)
    values = {
        "requestId": request.request_id,
        "extendedRequestId": request.request_id,
        "identity.sourceIp": request.source_ip,
        "identity.userAgent": request.user_agent,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", when),
        "requestTimeEpoch": str(int(request.started * 1000)),
        "httpMethod": request.method,
        "resourcePath": request.resource_path,
        "resourceId": request.resource_id,
        "path": request.path,
        "status": str(request.status),
        "protocol": request.protocol,
        "responseLength": str(request.response_length),
        "responseLatency": str(request.latency_ms),
        "stage": request.stage,
        "apiId": request.api_id,
        "accountId": request.account_id,
        "domainName": request.domain,
        "error.message": request.error,
    }
    values |= {f"authorizer.claims.{name}": value for name, value in request.claims.items()}
    return values


def resolve(log_format: str, request: LoggedRequest) -> str:
    """``log_format`` with each ``$context.*`` variable replaced by its value, else ``-``."""
    values = variables(request)
    return _VARIABLE.sub(lambda m: values.get(m[0].removeprefix("$context."), "-"), log_format)


class AccessLog:
    """Stage ``stage``'s access log: :meth:`write` reads the stage's settings (GetStage) and
    puts the resolved line in its group (one stream of this front's); no settings, no line.

    A line that cannot be delivered (its group missing) does not fail the request, as on AWS;
    ``undelivered`` keeps why, for the tests and the rehearsal's stderr."""

    def __init__(self, moto_url: str, *, api_id: str, stage: str, region: str) -> None:
        self._apigateway = client("apigateway", moto_url, region)
        self._logs = client("logs", moto_url, region)
        self._api_id, self._stage = api_id, stage
        self._stream = f"{time.strftime('%Y/%m/%d')}/{uuid.uuid4().hex}"
        self._streams: set[str] = set()
        self._lock = threading.Lock()
        self.undelivered: list[str] = []

    def settings(self) -> tuple[str, str] | None:
        """``(group, format)`` of the stage's access log now, or None when it has none."""
        stage = self._apigateway.get_stage(restApiId=self._api_id, stageName=self._stage)
        settings = stage.get("accessLogSettings") or {}
        arn, log_format = settings.get("destinationArn", ""), settings.get("format", "")
        if not arn or not log_format:
            return None
        return arn.split(":log-group:", 1)[-1].removesuffix(":*"), log_format

    def write(self, request: LoggedRequest) -> None:
        try:
            found = self.settings()
            if found is None:
                return
            group, log_format = found
            line = {"timestamp": int(request.started * 1000),
                    "message": resolve(log_format, request)}  # fmt: skip
            with self._lock:
                if group not in self._streams:
                    self._logs.create_log_stream(logGroupName=group, logStreamName=self._stream)
                    self._streams.add(group)
                self._logs.put_log_events(
                    logGroupName=group, logStreamName=self._stream, logEvents=[line]
                )
        except (ClientError, BotoCoreError) as exc:
            self.undelivered.append(f"{request.request_id}: {exc}")
