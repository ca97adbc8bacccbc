"""API Gateway's API in front of moto's, keeping a stage's settings across a deployment to it.

docs/decisions/0015-runbook-rehearsal.md#the-access-log. On AWS, ``CreateDeployment`` with
the ``stageName`` of an existing stage moves that stage to the new deployment and keeps the
rest of it: its access log, its method settings (detailed metrics), its tracing. moto 5.2.5
replaces the stage with a new one, so after ``attach`` deployed stage ``prod`` the stage had
no access log, and ``retire-marketing`` refused for want of the path's history. This front
forwards every request to moto unchanged and, after a deployment to an existing stage, puts
those settings back with ``UpdateStage`` (AWS's own patch paths); the blocks get it as
``AWS_ENDPOINT_URL_API_GATEWAY``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rehearsal._local import Http, Served, client, relay

__all__ = ["StageKeepingFront", "kept_settings"]

_DEPLOYMENTS = re.compile(r"^/restapis/(?P<api>[^/?]+)/deployments/?$")
#: A method setting as GetStage names it -> its UpdateStage path under ``/{resource}/{verb}/``.
_METHOD_SETTING_PATHS = {
    "metricsEnabled": "metrics/enabled",
    "loggingLevel": "logging/loglevel",
    "dataTraceEnabled": "logging/dataTrace",
    "throttlingBurstLimit": "throttling/burstLimit",
    "throttlingRateLimit": "throttling/rateLimit",
    "cachingEnabled": "caching/enabled",
    "cacheTtlInSeconds": "caching/ttlInSeconds",
    "cacheDataEncrypted": "caching/dataEncrypted",
    "requireAuthorizationForCacheControl": "caching/requireAuthorizationForCacheControl",
    "unauthorizedCacheControlHeaderStrategy": "caching/unauthorizedCacheControlHeaderStrategy",
}


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def kept_settings(stage: dict[str, Any], given_variables: dict[str, str]) -> list[dict[str, str]]:
    """The patch operations that put ``stage``'s (GetStage's) settings back on it: its access
    log, method settings, tracing, and the variables the deployment did not give."""
    ops = [
        {"op": "replace", "path": f"/accessLogSettings/{name}", "value": _text(value)}
        for name, value in (stage.get("accessLogSettings") or {}).items()
    ]
    for key, settings in (stage.get("methodSettings") or {}).items():
        ops += [
            {
                "op": "replace",
                "path": f"/{key}/{_METHOD_SETTING_PATHS[name]}",
                "value": _text(value),
            }
            for name, value in settings.items()
            if name in _METHOD_SETTING_PATHS
        ]
    if stage.get("tracingEnabled") is not None:
        ops.append({"op": "replace", "path": "/tracingEnabled",
                    "value": _text(stage["tracingEnabled"])})  # fmt: skip
    ops += [
        {"op": "replace", "path": f"/variables/{name}", "value": value}
        for name, value in (stage.get("variables") or {}).items()
        if name not in given_variables
    ]
    return ops


class StageKeepingFront(Served):
    """moto's API Gateway, except that a deployment to an existing stage keeps its settings."""

    def __init__(self, moto_url: str, *, region: str = "us-east-1") -> None:
        self._moto_url = moto_url
        self._apigateway = client("apigateway", moto_url, region)
        self._http = Http(self.answer)
        self.url = self._http.url
        #: Each deployment whose stage's settings were put back: (api, stage, operations).
        self.kept: list[tuple[str, str, int]] = []

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        match = _DEPLOYMENTS.match(target) if method == "POST" else None
        request: dict[str, Any] = json.loads(body or b"{}") if match else {}
        stage_name, before = str(request.get("stageName") or ""), None
        if match and stage_name:
            stages = self._apigateway.get_stages(restApiId=match["api"])["item"]
            before = next((s for s in stages if s["stageName"] == stage_name), None)
        status, got, payload = relay(self._moto_url, target, body, headers, method)
        if match and before is not None and status < 300:
            ops = kept_settings(before, request.get("variables") or {})
            if ops:
                self._apigateway.update_stage(
                    restApiId=match["api"], stageName=stage_name, patchOperations=ops
                )
            self.kept.append((str(match["api"]), stage_name, len(ops)))
        return status, got, payload
