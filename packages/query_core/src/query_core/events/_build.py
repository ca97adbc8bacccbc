"""``rest_proxy_event``: a REST API (v1) proxy event as the public API sends it, with the
caller where its authorizer puts it.

The one builder of such events for tools that must enter the Query Lambda as a client
would, with a known identity and without the public API (the canary check hook, and
``query-migrate``'s ``smoke`` and ``shadow``). Where the caller goes follows the owner
claim, as ``caller_identity`` reads it (docs/contract.md#ownership):

* ``caller``: IAM (SigV4), ``requestContext.identity.caller``;
* ``principalId``: a Lambda authorizer, ``requestContext.authorizer.principalId``;
* any other claim (``sub`` by default): a Cognito user pool authorizer,
  ``requestContext.authorizer.claims[claim]``.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["rest_proxy_event"]

_IDENTITY_KEYS = (
    "accountId",
    "caller",
    "user",
    "userArn",
    "accessKey",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "cognitoAuthenticationType",
    "cognitoAuthenticationProvider",
    "principalOrgId",
)


def rest_proxy_event(
    path: str,
    *,
    caller: str,
    request_id: str,
    method: str = "POST",
    body: Any = None,
    claim: str = "sub",
    api_id: str = "local",
    stage: str = "prod",
    user_agent: str = "query-tools",
) -> dict[str, Any]:
    """The event of ``method path`` (``body`` sent as JSON unless None) from ``caller``.

    ``request_id`` is both the client's ``X-Request-Id`` and API Gateway's own request id,
    so that the request can be found in every hop's log.
    """
    headers = {"Accept": "application/json", "User-Agent": user_agent, "X-Request-Id": request_id}
    if body is not None:
        headers["Content-Type"] = "application/json"
    identity: dict[str, Any] = dict.fromkeys(_IDENTITY_KEYS)
    identity |= {"sourceIp": "127.0.0.1", "userAgent": user_agent}
    context: dict[str, Any] = {
        "resourcePath": path,
        "httpMethod": method,
        "path": f"/{stage}{path}",
        "stage": stage,
        "requestId": request_id,
        "apiId": api_id,
        "identity": identity,
    }
    if claim == "caller":
        identity["caller"] = caller
    elif claim == "principalId":
        context["authorizer"] = {"principalId": caller}
    else:
        context["authorizer"] = {"claims": {claim: caller}}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": context,
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }
