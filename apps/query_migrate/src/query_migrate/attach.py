"""``attach``: repoint the existing public API's integrations at the Query Lambda's alias.

The existing public REST API (``existingPublicApiId``) proxies a few resource paths to the old
Query Lambda with Lambda proxy (``AWS_PROXY``) integrations. ``attach`` changes exactly one
field of each of those integrations, the ``uri``, to the alias ``live`` of the new Query
Lambda, keeps every other field (timeout, parameters, templates, integration responses), and
deploys the stage. Before it changes anything it writes a *record*: the API, the stage, the
deployment the stage was on, each integration exactly as ``GetIntegration`` returned it, and
the hash of the API's resources, methods and integrations. ``detach`` (``detach.py``) reads it.

It reads each method's authorization (``auth.py``; ``attach`` refuses ``NONE`` unless told
``--allow-unauthenticated``). It refuses what it does not know how to undo: a missing path, a
method without integration, an integration that is not a Lambda proxy, a field this tool
cannot write back; and, unless forced, an API that changed between the plan and the change
(its hash, read again) or that has changes not yet deployed (``CreateDeployment`` would
publish them along with ours).
``retire-marketing`` uses the same plan and record for the marketing paths alone.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from query_migrate._aws import Aws, aws_errors
from query_migrate._errors import MigrateError, RefusedError
from query_migrate._inputs import ExistingApi
from query_migrate._permissions import Grant, grant, missing_grants
from query_migrate._restapi import (
    LAMBDA_URI,
    MethodIntegration,
    api_hash,
    api_state,
    deploy_stage,
    get_integration,
    lambda_uri,
    put_arguments,
    put_integration,
    resources,
    undeployed_changes,
    utc_now,
)
from query_migrate.auth import MethodAuth, method_auths

__all__ = [
    "RECORD_FORMAT",
    "AttachPlan",
    "apply_attach",
    "load_record",
    "plan_attach",
    "refuse_undetached",
    "write_record",
]

RECORD_FORMAT = "query-migrate/attach-record/v1"

#: Methods left alone: CORS preflight answered by API Gateway itself.
_LEFT_ALONE_TYPES = {"MOCK"}


@dataclass
class AttachPlan:
    """What ``attach`` found and what it would change."""

    api_id: str
    stage: str
    #: None in ``preflight`` before the stack exists: the shape is checked, not the target.
    alias_arn: str | None
    deployment_id: str
    to_attach: list[MethodIntegration] = field(default_factory=list)
    already_attached: list[MethodIntegration] = field(default_factory=list)
    left_alone: list[MethodIntegration] = field(default_factory=list)
    #: The hash of the API's resources, methods and integrations when planned.
    api_hash: str = ""
    #: What the working copy has that the stage does not serve (would ship with ours).
    undeployed: list[str] = field(default_factory=list)
    #: Permissions the alias lacks on the API's other stages; attach adds them.
    grants: list[Grant] = field(default_factory=list)
    #: Each Lambda proxy method's authorization (``auth.py``): NONE is refused unless allowed.
    auth: list[MethodAuth] = field(default_factory=list)

    @property
    def new_uri(self) -> str:
        if self.alias_arn is None:
            raise MigrateError("--alias-arn is needed")
        return lambda_uri(self.alias_arn)

    def as_json(self) -> dict[str, Any]:
        return {
            "apiId": self.api_id,
            "stage": self.stage,
            "aliasArn": self.alias_arn,
            "deploymentId": self.deployment_id,
            "planHash": self.api_hash,
            "undeployedChanges": self.undeployed,
            "changes": [
                {
                    "method": m.label,
                    "from": m.integration.get("uri"),
                    "to": self.alias_arn and self.new_uri,
                }
                for m in self.to_attach
            ],
            "alreadyAttached": [m.label for m in self.already_attached],
            "leftAlone": [m.label for m in self.left_alone],
            "grants": [{"stage": g.stage, "sourceArn": g.source_arn} for g in self.grants],
            "authorization": [auth.as_json() for auth in self.auth],
        }

    def refuse(self, *, force: bool, expected_hash: str | None, now_hash: str) -> None:
        """Refuse to apply what changed since the plan, or on top of undeployed changes."""
        if force:
            return
        if expected_hash and expected_hash != now_hash:
            raise RefusedError(
                f"API {self.api_id} changed since the plan you reviewed (hash {now_hash}, "
                f"reviewed {expected_hash}): run --dry-run again, or --force"
            )
        if now_hash != self.api_hash:
            raise RefusedError(
                f"API {self.api_id} changed while attach was reading it (hash {now_hash}, "
                f"planned {self.api_hash}): run it again, or --force"
            )
        if self.undeployed:
            raise RefusedError(
                f"API {self.api_id} has changes stage {self.stage} does not serve yet, which a "
                f"deployment would publish: {'; '.join(self.undeployed)}. Deploy or revert "
                "them first, or --force"
            )


def _stages(aws: Aws, api_id: str) -> list[str]:
    with aws_errors(f"GetStages {api_id}"):
        return sorted(s["stageName"] for s in aws.apigateway.get_stages(restApiId=api_id)["item"])


def plan_attach(aws: Aws, api: ExistingApi, *, alias_arn: str | None) -> AttachPlan:
    """Read the API and decide what to change; raises RefusedError on an unexpected shape."""
    api_id, stage = api.api_id, api.stage
    with aws_errors(f"GetStage {api_id}/{stage}"):
        stage_info = aws.apigateway.get_stage(restApiId=api_id, stageName=stage)
    plan = AttachPlan(api_id, stage, alias_arn, stage_info.get("deploymentId", ""))
    by_path = resources(aws, api_id)
    new_uri = plan.new_uri if alias_arn else None
    for path in api.paths:
        resource = by_path.get(path)
        if resource is None:
            raise RefusedError(f"API {api_id} has no resource {path}; check existingPublicApiPaths")
        methods = sorted(resource.get("resourceMethods", {}))
        if not methods:
            raise RefusedError(f"API {api_id}: {path} has no methods")
        for method in methods:
            current = MethodIntegration(
                path, resource["id"], method, get_integration(aws, api_id, resource["id"], method)
            )
            kind = current.integration.get("type")
            if kind in _LEFT_ALONE_TYPES:
                plan.left_alone.append(current)
                continue
            if kind != "AWS_PROXY":
                raise RefusedError(
                    f"{current.label}: integration type {kind}; attach knows only Lambda proxy "
                    "(AWS_PROXY) integrations"
                )
            if not LAMBDA_URI.match(str(current.integration.get("uri", ""))):
                raise RefusedError(
                    f"{current.label}: integration URI {current.integration.get('uri')} "
                    "does not invoke a Lambda function"
                )
            put_arguments(current.integration, current.label)  # refuses unknown fields
            if current.integration.get("uri") == new_uri:
                plan.already_attached.append(current)
            else:
                plan.to_attach.append(current)
    plan.auth = method_auths(aws, api_id, plan.to_attach + plan.already_attached)
    if plan.to_attach and alias_arn:
        _plan_permissions(aws, plan, alias_arn)
    return plan


def _plan_permissions(aws: Aws, plan: AttachPlan, alias_arn: str) -> None:
    """Refuse an alias the stage may not invoke; plan the other stages' permissions."""
    methods: dict[str, list[str]] = {}
    for method in plan.to_attach + plan.already_attached:
        methods.setdefault(method.path, []).append(method.http_method)
    others = [name for name in _stages(aws, plan.api_id) if name != plan.stage]
    missing = missing_grants(aws, alias_arn, plan.api_id, [plan.stage, *others], methods)
    for item in missing:
        if item.stage == plan.stage:
            raise RefusedError(
                f"{item.path}: the alias has no permission for API {plan.api_id} to invoke it "
                f"({item.source_arn}); deploy the stack with existingPublicApiId={plan.api_id} "
                "first"
            )
    plan.grants = missing
    state = api_state(aws, plan.api_id)
    plan.api_hash = api_hash(state)
    plan.undeployed = undeployed_changes(aws, plan.api_id, plan.stage, state)


def write_record(path: Path, record: dict[str, Any]) -> None:
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def apply_attach(
    aws: Aws,
    plan: AttachPlan,
    record_path: Path,
    *,
    force: bool = False,
    expected_hash: str | None = None,
) -> dict[str, Any]:
    """Check the API again, write the record, repoint each integration, verify, grant the
    other stages, deploy the stage; the record."""
    plan.refuse(
        force=force, expected_hash=expected_hash, now_hash=api_hash(api_state(aws, plan.api_id))
    )
    record: dict[str, Any] = {
        "format": RECORD_FORMAT,
        "region": aws.region,
        "apiId": plan.api_id,
        "stage": plan.stage,
        "aliasArn": plan.alias_arn,
        "previousDeploymentId": plan.deployment_id,
        "planHash": plan.api_hash,
        "attachedAt": utc_now(),
        "methods": [asdict(method) for method in plan.to_attach],
        "grantedPermissions": [g.statement_id for g in plan.grants],
    }
    write_record(record_path, record)
    for method in plan.to_attach:
        wanted = {**method.integration, "uri": plan.new_uri}
        put_integration(aws, plan.api_id, method, wanted)
        now = get_integration(aws, plan.api_id, method.resource_id, method.http_method)
        if now.get("uri") != plan.new_uri:
            raise MigrateError(
                f"{method.label}: after PutIntegration the URI is {now.get('uri')}, not "
                f"{plan.new_uri}; run detach with {record_path}"
            )
    grant(aws, str(plan.alias_arn), plan.grants)
    record["deploymentId"] = deploy_stage(
        aws, plan.api_id, plan.stage, f"query-migrate attach -> {plan.alias_arn}"
    )
    record["attachedHash"] = api_hash(api_state(aws, plan.api_id))
    write_record(record_path, record)
    return record


def refuse_undetached(path: Path) -> None:
    """``attach`` keeps an earlier record until it is detached: refuse to write over it."""
    if path.exists() and not load_record(path).get("detachedAt"):
        raise RefusedError(
            f"{path} holds an attach that was not detached; detach it first, "
            "or give another --record"
        )


def load_record(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise MigrateError(f"attach record {path}: {exc}") from exc
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
        raise MigrateError(f"{path} is not a query-migrate attach record")
    strings = ("region", "apiId", "stage", "aliasArn")
    methods = record.get("methods")
    well_formed = all(isinstance(record.get(key), str) for key in strings) and (
        isinstance(methods, list)
        and all(
            isinstance(m, dict)
            and set(m) == {"path", "resource_id", "http_method", "integration"}
            and isinstance(m["integration"], dict)
            for m in methods
        )
    )
    if not well_formed:
        raise MigrateError(
            f"{path}: the attach record is damaged (fields missing or of the wrong type)"
        )
    return record
