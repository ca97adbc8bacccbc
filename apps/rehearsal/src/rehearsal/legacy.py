"""The old side's code as the running account has it before the cutover, where the rehearsal
needs it to differ from this repository's (docs/decisions/0015-runbook-rehearsal.md#the-data-plane).

- **The old Query Lambda** (``handler``; the fixture's ``handler.handler``): the REST proxy
  event forwarded to ``EKS_HANDLER_URL`` as it came, every path, and the answer returned as
  it came. It knows no retired path: ``/query/marketing`` goes to the EKS handler like any
  other, which is what ``smoke`` checks before the switch ("still served") and what
  ``retire-marketing`` later changes. This repository's Query Lambda answers that path 410
  itself, so it cannot stand in for the old one.
- **The EKS handler's marketing query** (``marketing_answer``): the legacy query by
  ``marketing_id`` over ``marketing_id-index``, which the service never had
  (docs/data-model.md#marketing_id-index). The EKS stand-in answers it; every other path is
  the service's old code path (``rehearsal.standins``).
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any
from urllib.parse import urlencode

from rehearsal._local import post

__all__ = ["handler", "marketing_answer"]

#: The headers the old Query Lambda passed on, each way.
_PASSED = ("content-type", "x-request-id")
_JSON = {"content-type": "application/json"}


def _answer(status: int, document: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {"statusCode": status, "headers": {**_JSON, **(headers or {})},
            "body": json.dumps(document)}  # fmt: skip


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The old Query Lambda: a REST proxy event to ``EKS_HANDLER_URL``; a 502 when it cannot
    be reached, a 400 for an event that is not a proxy event."""
    if not isinstance(event, dict) or not isinstance(event.get("httpMethod"), str):
        return _answer(400, {"detail": "unsupported event"})
    base = os.environ["EKS_HANDLER_URL"].rstrip("/")
    target = str(event.get("path") or "/")
    if query := event.get("queryStringParameters"):
        target += "?" + urlencode(query)
    body = event.get("body") or ""
    data = base64.b64decode(body) if event.get("isBase64Encoded") else str(body).encode()
    sent = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    sent = {k: v for k, v in sent.items() if k in _PASSED}
    try:
        status, got, payload = post(base, target, data, sent, event["httpMethod"])
    except OSError as exc:
        return _answer(502, {"message": f"the EKS handler did not answer: {exc}"})
    return {"statusCode": status, "headers": {k: got[k] for k in _PASSED if k in got},
            "body": payload.decode()}  # fmt: skip


def marketing_answer(
    dynamodb: Any, table: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """The EKS handler's marketing query: ``{"marketing_id": ...}`` -> the items of
    ``marketing_id-index`` with it (``result_id``, ``user_id``), at most 50; 422 without one."""
    echo = {"x-request-id": headers["x-request-id"]} if "x-request-id" in headers else {}
    try:
        document = json.loads(body) if body else {}
    except ValueError:
        document = None
    marketing_id = document.get("marketing_id") if isinstance(document, dict) else None
    if not isinstance(marketing_id, str) or not marketing_id:
        detail = json.dumps({"detail": "marketing_id is required"}).encode()
        return 422, {**_JSON, **echo}, detail
    found = dynamodb.query(
        TableName=table,
        IndexName="marketing_id-index",
        KeyConditionExpression="marketing_id = :m",
        ExpressionAttributeValues={":m": {"S": marketing_id}},
        Limit=50,
    )["Items"]
    items = [{"result_id": i["result_id"]["S"], "user_id": i["user_id"]["S"]} for i in found]
    page = {"marketing_id": marketing_id, "items": items, "count": len(items)}
    return 200, {**_JSON, **echo}, json.dumps(page).encode()
