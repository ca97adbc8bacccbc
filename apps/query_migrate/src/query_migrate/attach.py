"""``attach``/``detach``: repoint the existing public API at the Query Lambda's alias, and back.

The existing public REST API (``existingPublicApiId``) proxies a few resource paths to the old
Query Lambda with Lambda proxy (``AWS_PROXY``) integrations. ``attach`` changes exactly one
field of each of those integrations, the ``uri``, to the alias ``live`` of the new Query
Lambda, keeps every other field (timeout, parameters, templates, integration responses), and
deploys the stage. Before it changes anything it writes a *record*: the API, the stage, its
deployment, and each integration exactly as ``GetIntegration`` returned it. ``detach`` puts
each recorded integration back field for field, checks that ``GetIntegration`` answers what
was recorded, byte for byte, and deploys the stage again.

Both refuse what they do not know how to undo: a missing path, a method without integration,
an integration that is not a Lambda proxy, a field this tool cannot write back, or (for
``detach``) an integration somebody changed since ``attach``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

from query_migrate._aws import Aws, aws_errors
from query_migrate._errors import MigrateError, RefusedError
from query_migrate._inputs import ExistingApi

if TYPE_CHECKING:
    from mypy_boto3_apigateway.type_defs import ResourceTypeDef

__all__ = [
    "AttachPlan",
    "MethodIntegration",
    "apply_attach",
    "canonical",
    "deploy_stage",
    "get_integration",
    "invoked_function",
    "lambda_uri",
    "load_record",
    "plan_attach",
    "put_integration",
    "refuse_undetached",
    "utc_now",
]

RECORD_FORMAT = "query-migrate/attach-record/v1"

_FUNCTION_ARN = r"arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+(?::[\w$-]+)?"
_LAMBDA_URI = re.compile(
    r"^arn:aws[\w-]*:apigateway:[\w-]+:lambda:path/2015-03-31/functions/"
    rf"(?P<function>{_FUNCTION_ARN})/invocations$"
)
_ALIAS_ARN = re.compile(
    r"^arn:(?P<partition>aws[\w-]*):lambda:(?P<region>[\w-]+):(?P<account>\d{12}):"
    r"function:(?P<function>[\w-]+):(?P<alias>[\w-]+)$"
)

#: GetIntegration's field -> PutIntegration's parameter, where the names differ.
_RENAMED = {"httpMethod": "integrationHttpMethod"}
#: Methods left alone: CORS preflight answered by API Gateway itself.
_LEFT_ALONE_TYPES = {"MOCK"}


def canonical(value: Any) -> str:
    """The JSON text two integrations are compared by (sorted keys): "byte for byte"."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def lambda_uri(function_arn: str) -> str:
    """API Gateway's integration URI that invokes a Lambda function (or alias) ARN."""
    match = _ALIAS_ARN.match(function_arn) or re.match(
        r"^arn:(?P<partition>aws[\w-]*):lambda:(?P<region>[\w-]+):", function_arn
    )
    if match is None:
        raise MigrateError(f"not a Lambda function ARN: {function_arn}")
    partition, region = match.group("partition"), match.group("region")
    return (
        f"arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/"
        f"{function_arn}/invocations"
    )


def invoked_function(uri_or_arn: str) -> str:
    """``function:NAME[:ALIAS]`` that an integration URI (or a function ARN) invokes, for
    people to read; the URI itself when it invokes no Lambda function."""
    match = _LAMBDA_URI.match(uri_or_arn)
    arn = match.group("function") if match else uri_or_arn
    _, found, name = arn.partition(":function:")
    return f"function:{name}" if found else uri_or_arn


@dataclass
class MethodIntegration:
    """One method of one resource and its integration, as ``GetIntegration`` returned it."""

    path: str
    resource_id: str
    http_method: str
    integration: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.http_method} {self.path}"


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
        }


def _put_arguments(integration: dict[str, Any], label: str) -> dict[str, Any]:
    """PutIntegration's parameters that recreate ``integration``; refuses unknown fields."""
    args: dict[str, Any] = {}
    for name, value in integration.items():
        if name == "integrationResponses":
            continue
        if name in _RENAMED:
            args[_RENAMED[name]] = value
        elif name in _PUT_PARAMETERS:
            args[name] = value
        else:
            raise RefusedError(
                f"{label}: the integration has a field query-migrate cannot write back "
                f"({name}); change it by hand"
            )
    return args


#: PutIntegration's writable parameters (botocore's model, checked by a test).
_PUT_PARAMETERS = frozenset(
    {
        "type",
        "uri",
        "connectionType",
        "connectionId",
        "credentials",
        "requestParameters",
        "requestTemplates",
        "passthroughBehavior",
        "cacheNamespace",
        "cacheKeyParameters",
        "contentHandling",
        "timeoutInMillis",
        "tlsConfig",
        "responseTransferMode",
        "integrationTarget",
    }
)


def get_integration(aws: Aws, api_id: str, resource_id: str, method: str) -> dict[str, Any]:
    with aws_errors(f"GetIntegration {method} on resource {resource_id}"):
        answer = aws.apigateway.get_integration(
            restApiId=api_id, resourceId=resource_id, httpMethod=method
        )
    return {key: value for key, value in answer.items() if key != "ResponseMetadata"}


def _resources(aws: Aws, api_id: str) -> dict[str, ResourceTypeDef]:
    by_path: dict[str, ResourceTypeDef] = {}
    with aws_errors(f"GetResources {api_id}"):
        for page in aws.apigateway.get_paginator("get_resources").paginate(restApiId=api_id):
            for resource in page.get("items", []):
                by_path[resource.get("path", "")] = resource
    return by_path


def _check_permission(aws: Aws, plan: AttachPlan, methods: list[MethodIntegration]) -> None:
    """Refuse when the alias does not let this API invoke it (the API would answer 500)."""
    match = _ALIAS_ARN.match(plan.alias_arn or "")
    if plan.alias_arn is None or match is None:
        raise RefusedError(
            f"--alias-arn {plan.alias_arn} is not a Lambda alias ARN (…:function:NAME:live)"
        )
    with aws_errors(f"GetPolicy {plan.alias_arn}"):
        try:
            policy = json.loads(aws.lambda_.get_policy(FunctionName=plan.alias_arn)["Policy"])
        except aws.lambda_.exceptions.ResourceNotFoundException:
            policy = {"Statement": []}
    patterns = []
    for statement in policy.get("Statement", []):
        principal = statement.get("Principal", {})
        service = principal.get("Service") if isinstance(principal, dict) else principal
        if statement.get("Effect") != "Allow" or service != "apigateway.amazonaws.com":
            continue
        source = statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
        patterns.append(source or "*")
    prefix = f"arn:{match['partition']}:execute-api:{match['region']}:{match['account']}"
    for method in methods:
        verb = "*" if method.http_method == "ANY" else method.http_method
        path = method.path.replace("{proxy+}", "x")
        source_arn = f"{prefix}:{plan.api_id}/{plan.stage}/{verb}{path}"
        if not any(fnmatchcase(source_arn, pattern) for pattern in patterns):
            raise RefusedError(
                f"{method.label}: the alias has no permission for API {plan.api_id} to invoke it "
                f"({source_arn}); deploy the stack with existingPublicApiId={plan.api_id} first"
            )


def plan_attach(aws: Aws, api: ExistingApi, *, alias_arn: str | None) -> AttachPlan:
    """Read the API and decide what to change; raises RefusedError on an unexpected shape."""
    api_id, stage = api.api_id, api.stage
    with aws_errors(f"GetStage {api_id}/{stage}"):
        stage_info = aws.apigateway.get_stage(restApiId=api_id, stageName=stage)
    plan = AttachPlan(api_id, stage, alias_arn, stage_info.get("deploymentId", ""))
    resources = _resources(aws, api_id)
    new_uri = plan.new_uri if alias_arn else None
    for path in api.paths:
        resource = resources.get(path)
        if resource is None:
            raise RefusedError(f"API {api_id} has no resource {path}; check existingPublicApiPaths")
        methods = sorted(resource.get("resourceMethods", {}))
        if not methods:
            raise RefusedError(f"API {api_id}: {path} has no methods")
        for method in methods:
            current = MethodIntegration(
                path,
                resource["id"],
                method,
                get_integration(aws, api_id, resource["id"], method),
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
            if not _LAMBDA_URI.match(str(current.integration.get("uri", ""))):
                raise RefusedError(
                    f"{current.label}: integration URI {current.integration.get('uri')} "
                    "does not invoke a Lambda function"
                )
            _put_arguments(current.integration, current.label)  # refuses unknown fields
            if current.integration.get("uri") == new_uri:
                plan.already_attached.append(current)
            else:
                plan.to_attach.append(current)
    if plan.to_attach and alias_arn:
        _check_permission(aws, plan, plan.to_attach)
    return plan


def put_integration(
    aws: Aws, api_id: str, method: MethodIntegration, integration: dict[str, Any]
) -> None:
    args = _put_arguments(integration, method.label)
    with aws_errors(f"PutIntegration {method.label}"):
        aws.apigateway.put_integration(
            restApiId=api_id, resourceId=method.resource_id, httpMethod=method.http_method, **args
        )
    for response in integration.get("integrationResponses", {}).values():
        with aws_errors(f"PutIntegrationResponse {method.label} {response.get('statusCode')}"):
            aws.apigateway.put_integration_response(
                restApiId=api_id,
                resourceId=method.resource_id,
                httpMethod=method.http_method,
                **response,
            )


def deploy_stage(aws: Aws, api_id: str, stage: str, description: str) -> str:
    with aws_errors(f"CreateDeployment {api_id}/{stage}"):
        return aws.apigateway.create_deployment(
            restApiId=api_id, stageName=stage, description=description
        )["id"]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def apply_attach(aws: Aws, plan: AttachPlan, record_path: Path) -> dict[str, Any]:
    """Write the record, repoint each integration, verify, deploy the stage; the record."""
    record: dict[str, Any] = {
        "format": RECORD_FORMAT,
        "region": aws.region,
        "apiId": plan.api_id,
        "stage": plan.stage,
        "aliasArn": plan.alias_arn,
        "previousDeploymentId": plan.deployment_id,
        "attachedAt": utc_now(),
        "methods": [asdict(method) for method in plan.to_attach],
    }
    record_path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    for method in plan.to_attach:
        wanted = {**method.integration, "uri": plan.new_uri}
        put_integration(aws, plan.api_id, method, wanted)
        now = get_integration(aws, plan.api_id, method.resource_id, method.http_method)
        if now.get("uri") != plan.new_uri:
            raise MigrateError(
                f"{method.label}: after PutIntegration the URI is {now.get('uri')}, not "
                f"{plan.new_uri}; run detach with {record_path}"
            )
    record["deploymentId"] = deploy_stage(
        aws, plan.api_id, plan.stage, f"query-migrate attach -> {plan.alias_arn}"
    )
    record_path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
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
