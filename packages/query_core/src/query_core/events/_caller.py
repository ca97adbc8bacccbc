"""Who is calling: the identity API Gateway's authorizer vouched for (docs/contract.md#ownership).

Only ``requestContext`` is read, which API Gateway writes; nothing a client sends
(headers, body, query) is. REST API (v1) proxy events carry it in three shapes:

* a Cognito user pool authorizer: ``requestContext.authorizer.claims`` (the token's
  claims); the claim is ``claim``, by default ``sub``;
* a Lambda authorizer: ``requestContext.authorizer`` holds ``principalId`` and the
  authorizer's context; the key is ``claim``, by default ``principalId``;
* IAM (SigV4): ``requestContext.identity.caller``, kept up to its colon: the principal's
  unique id (``AROA…`` for a role, ``AIDA…`` for a user), never the session name after it,
  which whoever assumes the role chooses (and so is in ``user`` and ``userArn``). Only
  ``caller`` (the default) names an IAM caller; any other ``claim`` names none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from query_core._http import clean_caller_id
from query_core.events._request import LambdaRequest

__all__ = ["caller_identity"]


def caller_identity(request: LambdaRequest, claim: str | None = None) -> str | None:
    """The authenticated caller's identity, or None when no authorizer vouched for one.

    A value that is not safe in a header (``clean_caller_id``) counts as none.
    """
    if request.source != "rest_v1":
        return None
    context = request.request_context
    authorizer: Any = context.get("authorizer")
    if isinstance(authorizer, Mapping):
        claims = authorizer.get("claims")
        if isinstance(claims, Mapping) and claims:
            return clean_caller_id(claims.get(claim or "sub"))
        if authorizer.get("principalId") is not None:
            return clean_caller_id(authorizer.get(claim or "principalId"))
    identity: Any = context.get("identity")
    if isinstance(identity, Mapping) and claim in (None, "caller"):
        caller = identity.get("caller")
        return clean_caller_id(caller.split(":", 1)[0] if isinstance(caller, str) else caller)
    return None
