"""The owner rule of the existing public API (``ownerClaim``), read from its methods' authorizer.

The CDK app refuses ``existingPublicApiId`` without an owner rule (``ownerClaim``, or an explicit
``ownerCheck=false``), and accepts as ``ownerClaim`` only the identity the authorizer issues
and the caller cannot choose: Cognito's ``sub``, a Lambda authorizer's ``principalId``, IAM's
caller (``infra/src/query_infra/rules.py``, ``OWNER_CLAIMS``; a test pins the two). ``discover``
reads the authorization of the methods that invoke the old Query Lambda and writes that claim
when they agree; ``ownerCheck=false`` stays the operator's decision, never discover's.
"""

from __future__ import annotations

from query_migrate._aws import Aws
from query_migrate._restapi import MethodIntegration
from query_migrate.auth import method_auths

__all__ = ["OWNER_CLAIMS", "owner_claim"]

#: A method's ``authorizationType`` -> the claim its authorizer issues and the caller cannot set.
OWNER_CLAIMS = {"COGNITO_USER_POOLS": "sub", "CUSTOM": "principalId", "AWS_IAM": "caller"}


def owner_claim(aws: Aws, api_id: str, methods: list[MethodIntegration]) -> tuple[str | None, str]:
    """``(claim, its source)`` when every method has the same kind of authorizer, else
    ``(None, how to choose)``."""
    auths = method_auths(aws, api_id, methods)
    kinds = sorted({auth.authorization_type for auth in auths})
    described = "; ".join(auth.describe() for auth in auths)
    if len(kinds) == 1 and kinds[0] in OWNER_CLAIMS:
        which = sorted({f"{auth.authorization_type} {auth.authorizer}".strip() for auth in auths})
        return (
            OWNER_CLAIMS[kinds[0]],
            f"GetMethod/GetAuthorizer: {len(auths)} methods, {', '.join(which)}: the identity "
            "it issues",
        )
    return (
        None,
        f"the methods' authorization ({described}) names no one owner claim: sub (Cognito), "
        "principalId (Lambda authorizer) or caller (IAM), or ownerCheck=false to let every "
        "caller read any user's results (docs/security.md#the-existing-public-api)",
    )
