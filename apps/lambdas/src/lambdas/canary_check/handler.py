"""CodeDeploy's ``BeforeAllowTraffic`` and ``AfterAllowTraffic`` hook of alias ``live``:
``lambdas.canary_check.handler.handler``.

CodeDeploy invokes it with ``{"DeploymentId", "LifecycleEventHookExecutionId"}`` before any
traffic moves to the new Query Lambda version and again after all of it has; it invokes that
version (``TARGET_VERSION_ARN``) with the test identity's requests (``_check``) and reports
``Succeeded`` or ``Failed`` with ``PutLifecycleEventHookExecutionStatus``; ``Failed`` stops
the deployment and rolls the alias back. docs/decisions/0012-canary-check-hook.md.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from query_core import configure_json_logging

from lambdas._startup import starting
from lambdas.canary_check._check import InvokeError, check_version
from lambdas.canary_check._settings import CanaryCheckSettings, get_settings

__all__ = ["handler", "run_hook"]

_log = logging.getLogger("lambdas.canary_check")


def _invoker(client: Any, arn: str) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = client.invoke(FunctionName=arn, Payload=json.dumps(event).encode())
            payload = answer["Payload"].read()
        except (BotoCoreError, ClientError) as exc:
            raise InvokeError(f"could not invoke {arn}: {exc}") from exc
        if answer.get("FunctionError"):
            raise InvokeError(f"{arn} failed ({answer['FunctionError']}): {payload[:500]!r}")
        try:
            response = json.loads(payload)
        except ValueError:
            response = None
        if not isinstance(response, dict):
            raise InvokeError(f"{arn} answered something that is not a proxy response")
        return response

    return invoke


def run_hook(
    event: dict[str, str], settings: CanaryCheckSettings, lambda_client: Any, codedeploy: Any
) -> dict[str, Any]:
    """Check the version with ``lambda_client``, report the verdict with ``codedeploy``."""
    try:
        problems = check_version(_invoker(lambda_client, settings.target_version_arn), settings)
    except Exception as exc:
        problems = [f"the check itself failed: {type(exc).__name__}: {exc}"]
    status = "Failed" if problems else "Succeeded"
    _log.info(
        "canary check %s",
        status,
        extra={
            "deployment_id": event["DeploymentId"],
            "target": settings.target_version_arn,
            "problems": problems,
        },
    )
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status,
    )
    return {"status": status, "problems": problems}


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point: the event checked, the clients made, ``run_hook``."""
    import boto3
    from botocore.config import Config

    if not isinstance(event, dict) or not all(
        isinstance(event.get(key), str) for key in ("DeploymentId", "LifecycleEventHookExecutionId")
    ):
        _log.error("not a CodeDeploy lifecycle event: nothing to report to")
        return {"status": "refused", "problems": ["not a CodeDeploy lifecycle event"]}
    # One attempt per request (a retried POST would be a second request), within the
    # Query Lambda's own 28 s.
    once = Config(retries={"total_max_attempts": 1}, read_timeout=35, connect_timeout=5)
    return run_hook(
        event, get_settings(), boto3.client("lambda", config=once), boto3.client("codedeploy")
    )


with starting(_log):  # at init: a wrong setting is one line and exit 1
    configure_json_logging()
    get_settings()
