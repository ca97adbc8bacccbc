"""Who may call the existing public API's methods: their ``authorizationType`` and authorizer.

The stack never changes the existing API's auth (docs/security.md#the-existing-public-api), so
``attach`` and ``preflight`` read it: a method whose ``authorizationType`` is ``NONE`` lets
anyone on the internet call the Query Lambda, which then names no caller; ``attach`` refuses to
repoint it, and ``preflight`` fails its check, unless told ``--allow-unauthenticated``. Every
method's authorizer is reported either way (``GetMethod``, then ``GetAuthorizer`` for its name).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from query_migrate._aws import Aws, aws_errors
from query_migrate._checks import Check
from query_migrate._errors import RefusedError
from query_migrate._restapi import MethodIntegration

__all__ = ["MethodAuth", "auth_check", "method_auths", "refuse_unauthenticated"]

_NAME = "existing API auth"
_FIX = (
    "give each method an authorizer (IAM, Cognito or Lambda) and an owner rule "
    "(docs/security.md#the-existing-public-api), or --allow-unauthenticated"
)


@dataclass(frozen=True)
class MethodAuth:
    """One method's ``authorizationType`` and, for Cognito or a Lambda authorizer, which one."""

    label: str
    authorization_type: str
    #: ``name (id)`` of the method's authorizer; empty for NONE and AWS_IAM.
    authorizer: str = ""

    @property
    def unauthenticated(self) -> bool:
        return self.authorization_type == "NONE"

    def describe(self) -> str:
        kind = self.authorization_type
        return (
            f"{self.label}: {kind} {self.authorizer}"
            if self.authorizer
            else f"{self.label}: {kind}"
        )

    def as_json(self) -> dict[str, str]:
        return {
            "method": self.label,
            "authorizationType": self.authorization_type,
            "authorizer": self.authorizer,
        }


def method_auths(aws: Aws, api_id: str, methods: Iterable[MethodIntegration]) -> list[MethodAuth]:
    """Each method's authorization as API Gateway holds it (the working copy)."""
    names: dict[str, str] = {}
    found = []
    for method in methods:
        with aws_errors(f"GetMethod {method.label}"):
            answer = aws.apigateway.get_method(
                restApiId=api_id, resourceId=method.resource_id, httpMethod=method.http_method
            )
        authorizer_id = answer.get("authorizerId", "")
        if authorizer_id and authorizer_id not in names:
            with aws_errors(f"GetAuthorizer {api_id}/{authorizer_id}"):
                authorizer = aws.apigateway.get_authorizer(
                    restApiId=api_id, authorizerId=authorizer_id
                )
            names[authorizer_id] = f"{authorizer.get('name', '?')} ({authorizer_id})"
        kind = answer.get("authorizationType", "NONE")
        found.append(MethodAuth(method.label, kind, names.get(authorizer_id, "")))
    return found


def refuse_unauthenticated(auths: Iterable[MethodAuth], *, allowed: bool) -> None:
    """Refuse methods anyone may call, unless ``allowed`` (``--allow-unauthenticated``)."""
    open_methods = [auth.label for auth in auths if auth.unauthenticated]
    if open_methods and not allowed:
        raise RefusedError(
            f"{', '.join(open_methods)}: authorizationType NONE, so anyone may call it and no "
            f"caller is named; {_FIX}"
        )


def auth_check(auths: list[MethodAuth], *, allowed: bool) -> Check:
    """``preflight``'s verdict on the methods' authorization, naming each one's authorizer."""
    detail = "; ".join(auth.describe() for auth in auths) or "no Lambda proxy method"
    try:
        refuse_unauthenticated(auths, allowed=allowed)
    except RefusedError:
        return Check.fail(_NAME, detail, _FIX)
    return Check.ok(_NAME, detail)
