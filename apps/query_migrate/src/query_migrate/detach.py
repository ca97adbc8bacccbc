"""``detach``: put back the integrations ``attach`` recorded, exactly, and deploy the stage.

The record and the reading/writing of integrations are ``attach.py``'s; this module compares the
API with the record, refuses what changed since unless forced, restores and verifies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from query_migrate._aws import Aws
from query_migrate._errors import MigrateError, RefusedError
from query_migrate.attach import (
    MethodIntegration,
    canonical,
    deploy_stage,
    get_integration,
    lambda_uri,
    put_integration,
    utc_now,
)

__all__ = ["DetachStep", "apply_detach", "plan_detach"]


@dataclass
class DetachStep:
    method: MethodIntegration
    current_uri: str
    changed_since_attach: bool


def plan_detach(aws: Aws, record: dict[str, Any], *, force: bool) -> list[DetachStep]:
    """Compare the API with the record; refuses what changed since ``attach`` unless forced."""
    if record.get("detachedAt"):
        raise RefusedError(f"this record was already detached at {record['detachedAt']}")
    if record["region"] != aws.region:
        raise MigrateError(
            f"the record is of region {record['region']}: pass --region {record['region']}"
        )
    new_uri = lambda_uri(record["aliasArn"])
    steps = []
    for raw in record["methods"]:
        method = MethodIntegration(**raw)
        current = get_integration(aws, record["apiId"], method.resource_id, method.http_method)
        changed = current.get("uri") != new_uri
        if changed and not force:
            raise RefusedError(
                f"{method.label}: the integration changed since attach (URI now "
                f"{current.get('uri')}); look, then detach --force to restore the record anyway"
            )
        steps.append(DetachStep(method, str(current.get("uri")), changed))
    return steps


def apply_detach(
    aws: Aws, record: dict[str, Any], steps: list[DetachStep], record_path: Path
) -> list[str]:
    """Restore each recorded integration, verify it byte for byte, deploy; the problems found."""
    api_id = record["apiId"]
    problems = []
    for step in steps:
        method = step.method
        put_integration(aws, api_id, method, method.integration)
        now = get_integration(aws, api_id, method.resource_id, method.http_method)
        if canonical(now) != canonical(method.integration):
            problems.append(
                f"{method.label}: GetIntegration answers {canonical(now)}, "
                f"recorded {canonical(method.integration)}"
            )
    record["detachDeploymentId"] = deploy_stage(
        aws, api_id, record["stage"], "query-migrate detach: the recorded integrations"
    )
    if not problems:
        record["detachedAt"] = utc_now()
    record_path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return problems
