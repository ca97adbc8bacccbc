"""The alias's ``lambda:InvokeFunction`` permissions for an API's stages, one source ARN per
stage and path, as the CDK app grants them for ``existingPublicApiStage``.

Every stage of the API runs the working copy once it is deployed again: a stage without a
permission for the alias would then answer 500. ``attach`` grants the missing ones of the
other stages and records them; ``detach`` removes what ``attach`` granted.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from query_migrate._aws import Aws, aws_errors
from query_migrate._errors import RefusedError
from query_migrate._restapi import ALIAS_ARN

__all__ = ["Grant", "grant", "missing_grants", "revoke", "source_arn"]


@dataclass(frozen=True)
class Grant:
    """One permission: API ``stage`` may invoke the alias on ``path`` (any method)."""

    stage: str
    path: str
    source_arn: str
    statement_id: str


def _prefix(alias_arn: str) -> str:
    """``arn:aws:execute-api:REGION:ACCOUNT`` of the alias's region and account."""
    match = ALIAS_ARN.match(alias_arn)
    if match is None:
        raise RefusedError(
            f"--alias-arn {alias_arn} is not a Lambda alias ARN (…:function:NAME:live)"
        )
    return f"arn:{match['partition']}:execute-api:{match['region']}:{match['account']}"


def source_arn(alias_arn: str, api_id: str, stage: str, path: str) -> str:
    """The execute-api ARN of every method of ``path`` on ``stage`` (``{proxy+}`` -> ``*``)."""
    arn_path = "/".join("*" if p.startswith("{") else p for p in path.split("/"))
    return f"{_prefix(alias_arn)}:{api_id}/{stage}/*{arn_path}"


def _allowed(aws: Aws, alias_arn: str) -> list[str]:
    """The source ARN patterns API Gateway may invoke the alias from."""
    with aws_errors(f"GetPolicy {alias_arn}"):
        try:
            policy = json.loads(aws.lambda_.get_policy(FunctionName=alias_arn)["Policy"])
        except aws.lambda_.exceptions.ResourceNotFoundException:
            policy = {"Statement": []}
    patterns = []
    for statement in policy.get("Statement", []):
        principal: Any = statement.get("Principal", {})
        service = principal.get("Service") if isinstance(principal, dict) else principal
        if statement.get("Effect") != "Allow" or service != "apigateway.amazonaws.com":
            continue
        source = statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
        patterns.append(source or "*")
    return patterns


def missing_grants(
    aws: Aws, alias_arn: str, api_id: str, stages: list[str], methods: dict[str, list[str]]
) -> list[Grant]:
    """The (stage, path) pairs whose methods (``methods``: path -> verbs) the alias's policy
    does not let the API invoke it from."""
    patterns = _allowed(aws, alias_arn)
    prefix = _prefix(alias_arn)
    missing = []
    for stage in stages:
        for number, (path, verbs) in enumerate(sorted(methods.items())):
            concrete = [
                f"{prefix}:{api_id}/{stage}/{'*' if verb == 'ANY' else verb}"
                + re.sub(r"\{[^}]*\}", "x", path)
                for verb in verbs
            ]
            if not all(any(fnmatchcase(arn, p) for p in patterns) for arn in concrete):
                statement = f"query-migrate-{api_id}-{stage}-{number}"
                arn = source_arn(alias_arn, api_id, stage, path)
                missing.append(Grant(stage, path, arn, statement))
    return missing


def grant(aws: Aws, alias_arn: str, grants: list[Grant]) -> None:
    for item in grants:
        with aws_errors(f"AddPermission {item.statement_id}"):
            aws.lambda_.add_permission(
                FunctionName=alias_arn,
                StatementId=item.statement_id,
                Action="lambda:InvokeFunction",
                Principal="apigateway.amazonaws.com",
                SourceArn=item.source_arn,
            )


def revoke(aws: Aws, alias_arn: str, statement_ids: list[str]) -> None:
    for statement_id in statement_ids:
        gone = aws.lambda_.exceptions.ResourceNotFoundException  # already: what detach wants
        with aws_errors(f"RemovePermission {statement_id}"), contextlib.suppress(gone):
            aws.lambda_.remove_permission(FunctionName=alias_arn, StatementId=statement_id)
