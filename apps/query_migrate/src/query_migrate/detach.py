"""``detach``: put back the integrations ``attach`` recorded, exactly, and the stage on the
deployment it was on before ``attach``.

The record and the reading/writing of integrations are ``attach.py``'s and ``_restapi.py``'s;
this module compares the API with the record, refuses what changed since unless forced,
restores and verifies. The stage goes back to ``previousDeploymentId`` when it is still on
the deployment ``attach`` made; when somebody deployed since (e.g. ``retire-marketing`` after
``attach``), a new deployment publishes the restored working copy instead, so that the later
change stays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from query_migrate._aws import Aws, aws_errors
from query_migrate._errors import MigrateError, RefusedError
from query_migrate._permissions import revoke
from query_migrate._restapi import (
    MethodIntegration,
    api_hash,
    api_state,
    canonical,
    deploy_stage,
    get_integration,
    lambda_uri,
    point_stage,
    put_integration,
    undeployed_changes,
    utc_now,
)
from query_migrate.attach import write_record

__all__ = ["DetachPlan", "DetachStep", "apply_detach", "plan_detach"]


@dataclass
class DetachStep:
    method: MethodIntegration
    current_uri: str
    changed_since_attach: bool


@dataclass
class DetachPlan:
    steps: list[DetachStep]
    api_hash: str
    #: The stage's deployment now: attach's (then the previous one comes back) or a later one.
    stage_deployment: str
    notes: list[str] = field(default_factory=list)


def plan_detach(aws: Aws, record: dict[str, Any], *, force: bool) -> DetachPlan:
    """Compare the API with the record; refuses what changed since ``attach`` unless forced."""
    if record.get("detachedAt"):
        raise RefusedError(f"this record was already detached at {record['detachedAt']}")
    if record["region"] != aws.region:
        raise MigrateError(
            f"the record is of region {record['region']}: pass --region {record['region']}"
        )
    api_id, stage = record["apiId"], record["stage"]
    new_uri = lambda_uri(record["aliasArn"])
    steps = []
    for raw in record["methods"]:
        method = MethodIntegration(**raw)
        current = get_integration(aws, api_id, method.resource_id, method.http_method)
        changed = current.get("uri") != new_uri
        if changed and not force:
            raise RefusedError(
                f"{method.label}: the integration changed since attach (URI now "
                f"{current.get('uri')}); look, then detach --force to restore the record anyway"
            )
        steps.append(DetachStep(method, str(current.get("uri")), changed))
    state = api_state(aws, api_id)
    plan = DetachPlan(steps, api_hash(state), _stage_deployment(aws, api_id, stage))
    attached = record.get("attachedHash")
    if attached and attached != plan.api_hash:
        plan.notes.append(
            f"API {api_id} changed since attach (hash {plan.api_hash}, after attach {attached})"
        )
    plan.notes += undeployed_changes(aws, api_id, stage, state)
    if plan.notes and not force:
        raise RefusedError(
            "; ".join(plan.notes) + ": look, then detach --force to restore the record anyway"
        )
    return plan


def _stage_deployment(aws: Aws, api_id: str, stage: str) -> str:
    with aws_errors(f"GetStage {api_id}/{stage}"):
        return str(aws.apigateway.get_stage(restApiId=api_id, stageName=stage)["deploymentId"])


def apply_detach(
    aws: Aws, record: dict[str, Any], plan: DetachPlan, record_path: Path, *, force: bool
) -> list[str]:
    """Restore each recorded integration, verify it byte for byte, put the stage back, remove
    the permissions attach granted; the problems found."""
    api_id, stage = record["apiId"], record["stage"]
    now_hash = api_hash(api_state(aws, api_id))
    if now_hash != plan.api_hash and not force:
        raise RefusedError(
            f"API {api_id} changed while detach was reading it (hash {now_hash}, planned "
            f"{plan.api_hash}): run it again, or --force"
        )
    problems = []
    for step in plan.steps:
        method = step.method
        put_integration(aws, api_id, method, method.integration)
        now = get_integration(aws, api_id, method.resource_id, method.http_method)
        if canonical(now) != canonical(method.integration):
            problems.append(
                f"{method.label}: GetIntegration answers {canonical(now)}, "
                f"recorded {canonical(method.integration)}"
            )
    previous = record.get("previousDeploymentId")
    if previous and plan.stage_deployment == record.get("deploymentId"):
        point_stage(aws, api_id, stage, previous)
        record["detachDeploymentId"] = previous
        record["stageRestored"] = "previous"
    else:
        record["detachDeploymentId"] = deploy_stage(
            aws, api_id, stage, "query-migrate detach: the recorded integrations"
        )
        record["stageRestored"] = "redeployed"
    revoke(aws, record["aliasArn"], list(record.get("grantedPermissions", [])))
    if not problems:
        record["detachedAt"] = utc_now()
    write_record(record_path, record)
    return problems
