"""The same app on Lambda (``ecs_service.lambda_handler.handler``), through Mangum.

A fallback host and preview environments: REST (v1) and HTTP API (v2) events. Mangum
runs the app's lifespan around each invocation, so the internal API client is opened
and closed per call; ECS keeps it open for the life of the process.

The caller is the event's authorizer's (``requestContext``, with ``OWNER_CLAIM``), as the
Query Lambda reads it: no ``X-Caller-Id`` or ``X-Caller-Proof`` header of the event counts
(``ecs_service.caller.event_caller``, docs/contract.md#caller-proof).
"""

from mangum import Mangum
from query_core import configure_json_logging

from ecs_service.app import create_service
from ecs_service.caller import event_caller
from ecs_service.settings import get_settings

configure_json_logging(get_settings().log_level)
handler = Mangum(
    create_service(caller=event_caller(get_settings().owner_claim)),
    lifespan="auto",
    api_gateway_base_path="/",
)
