"""Direct invocation: the event is the bare request object (the legacy ``invoke_lambda`` path).

The old EKS handler called ``LambdaAdapter.invoke_lambda("query_result_lambda", payload)``
with boto3 ``Invoke``; the payload is the body of ``POST /query/result``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from query_core._http import RESULT_PATH
from query_core.events._request import LambdaRequest

__all__ = ["decode", "infer"]


def infer(event: Any) -> bool:
    """Any JSON object that is not an API Gateway event is a direct invocation."""
    return isinstance(event, Mapping)


def decode(event: Mapping[str, Any]) -> LambdaRequest:
    """A ``POST /query/result`` whose body is the event itself."""
    return LambdaRequest(
        source="direct",
        method="POST",
        path=RESULT_PATH,
        raw_body=json.dumps(event, separators=(",", ":")).encode(),
        headers={"content-type": "application/json"},
    )
