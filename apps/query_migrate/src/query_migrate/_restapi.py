"""Reading and writing an existing REST API: integrations, the API's state and its hash,
what the stage serves against the working copy, and the stage's deployment.

``attach``, ``detach`` and ``retire-marketing`` share these; the rules that decide what to
change live in their own modules.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from query_migrate._aws import Aws, aws_errors
from query_migrate._errors import MigrateError, RefusedError

if TYPE_CHECKING:
    from mypy_boto3_apigateway.type_defs import ResourceTypeDef

__all__ = [
    "ALIAS_ARN",
    "LAMBDA_URI",
    "PUT_PARAMETERS",
    "MethodIntegration",
    "api_hash",
    "api_state",
    "canonical",
    "deploy_stage",
    "export_differences",
    "get_integration",
    "invoked_function",
    "lambda_uri",
    "point_stage",
    "put_arguments",
    "put_integration",
    "resources",
    "undeployed_changes",
    "utc_now",
]

_FUNCTION_ARN = r"arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+(?::[\w$-]+)?"
LAMBDA_URI = re.compile(
    r"^arn:aws[\w-]*:apigateway:[\w-]+:lambda:path/2015-03-31/functions/"
    rf"(?P<function>{_FUNCTION_ARN})/invocations$"
)
ALIAS_ARN = re.compile(
    r"^arn:(?P<partition>aws[\w-]*):lambda:(?P<region>[\w-]+):(?P<account>\d{12}):"
    r"function:(?P<function>[\w-]+):(?P<alias>[\w-]+)$"
)

#: GetIntegration's field -> PutIntegration's parameter, where the names differ.
_RENAMED = {"httpMethod": "integrationHttpMethod"}

#: PutIntegration's writable parameters (botocore's model, checked by a test).
PUT_PARAMETERS = frozenset(
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

#: The OpenAPI export's name of the method ANY.
_EXPORT_ANY = "x-amazon-apigateway-any-method"
_VERBS = frozenset({"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "ANY"})


def canonical(value: Any) -> str:
    """The JSON text two integrations are compared by (sorted keys): "byte for byte"."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def lambda_uri(function_arn: str) -> str:
    """API Gateway's integration URI that invokes a Lambda function (or alias) ARN."""
    match = ALIAS_ARN.match(function_arn) or re.match(
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
    match = LAMBDA_URI.match(uri_or_arn)
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


def put_arguments(integration: dict[str, Any], label: str) -> dict[str, Any]:
    """PutIntegration's parameters that recreate ``integration``; refuses unknown fields."""
    args: dict[str, Any] = {}
    for name, value in integration.items():
        if name == "integrationResponses":
            continue
        if name in _RENAMED:
            args[_RENAMED[name]] = value
        elif name in PUT_PARAMETERS:
            args[name] = value
        else:
            raise RefusedError(
                f"{label}: the integration has a field query-migrate cannot write back "
                f"({name}); change it by hand"
            )
    return args


def get_integration(aws: Aws, api_id: str, resource_id: str, method: str) -> dict[str, Any]:
    with aws_errors(f"GetIntegration {method} on resource {resource_id}"):
        answer = aws.apigateway.get_integration(
            restApiId=api_id, resourceId=resource_id, httpMethod=method
        )
    return {key: value for key, value in answer.items() if key != "ResponseMetadata"}


def put_integration(
    aws: Aws, api_id: str, method: MethodIntegration, integration: dict[str, Any]
) -> None:
    args = put_arguments(integration, method.label)
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


def resources(aws: Aws, api_id: str) -> dict[str, ResourceTypeDef]:
    """The API's resources by path."""
    by_path: dict[str, ResourceTypeDef] = {}
    with aws_errors(f"GetResources {api_id}"):
        for page in aws.apigateway.get_paginator("get_resources").paginate(restApiId=api_id):
            for resource in page.get("items", []):
                by_path[resource.get("path", "")] = resource
    return by_path


def api_state(aws: Aws, api_id: str) -> dict[str, dict[str, Any]]:
    """The working copy: ``METHOD path`` -> the method and its integration (``GetMethod``)."""
    state: dict[str, dict[str, Any]] = {}
    for path, resource in sorted(resources(aws, api_id).items()):
        for verb in sorted(resource.get("resourceMethods", {})):
            with aws_errors(f"GetMethod {verb} {path}"):
                answer = aws.apigateway.get_method(
                    restApiId=api_id, resourceId=resource["id"], httpMethod=verb
                )
            state[f"{verb} {path}"] = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
    return state


def api_hash(state: dict[str, dict[str, Any]]) -> str:
    """A short hash of the API's resources, methods and integrations (:func:`api_state`)."""
    return hashlib.sha256(canonical(state).encode()).hexdigest()[:16]


def export_differences(export: dict[str, Any], state: dict[str, dict[str, Any]]) -> list[str]:
    """What the working copy (``state``) has that the stage's deployment (``export``, the
    OpenAPI export of the stage with its integrations) does not serve, one line each.

    An export without integrations (the ``integrations`` extension missing) is compared by its
    methods only.
    """
    deployed: dict[str, dict[str, Any] | None] = {}
    for path, item in export.get("paths", {}).items():
        for key, operation in item.items():
            verb = "ANY" if key == _EXPORT_ANY else key.upper()
            if verb in _VERBS and isinstance(operation, dict):
                deployed[f"{verb} {path}"] = operation.get("x-amazon-apigateway-integration")
    problems = [f"{label}: not deployed" for label in state if label not in deployed]
    problems += [f"{label}: deleted, not deployed" for label in deployed if label not in state]
    for label, method in state.items():
        served = deployed.get(label)
        working = method.get("methodIntegration") or {}
        if not served:
            continue
        for field in ("type", "uri", "httpMethod"):
            now, then = working.get(field), served.get(field)
            if str(now or "").lower() != str(then or "").lower():
                problems.append(f"{label}: integration {field} {now}, deployed {then}")
    return problems


def undeployed_changes(aws: Aws, api_id: str, stage: str, state: dict[str, Any]) -> list[str]:
    """:func:`export_differences` of the stage's export (GetExport) and the working copy."""
    with aws_errors(f"GetExport {api_id}/{stage}"):
        answer = aws.apigateway.get_export(
            restApiId=api_id,
            stageName=stage,
            exportType="oas30",
            parameters={"extensions": "integrations"},
            accepts="application/json",
        )
    try:
        export = json.loads(answer["body"].read())
    except ValueError as exc:
        raise MigrateError(f"GetExport {api_id}/{stage}: not JSON ({exc})") from exc
    return export_differences(export, state)


def deploy_stage(aws: Aws, api_id: str, stage: str, description: str) -> str:
    with aws_errors(f"CreateDeployment {api_id}/{stage}"):
        return aws.apigateway.create_deployment(
            restApiId=api_id, stageName=stage, description=description
        )["id"]


def point_stage(aws: Aws, api_id: str, stage: str, deployment_id: str) -> None:
    """Put ``stage`` on an earlier deployment: what it served then, exactly."""
    with aws_errors(f"UpdateStage {api_id}/{stage} -> {deployment_id}"):
        aws.apigateway.update_stage(
            restApiId=api_id,
            stageName=stage,
            patchOperations=[{"op": "replace", "path": "/deploymentId", "value": deployment_id}],
        )
