"""JSON log lines that carry the request id, the same in ECS and in Lambda."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Final

__all__ = ["JsonFormatter", "configure_json_logging", "request_id_var"]

#: The id of the request being handled; every log line of that request carries it.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
#: The platform's own ids of that request (``apigw_request_id``: API Gateway's
#: ``requestContext.requestId``; ``aws_request_id``: Lambda's), logged beside
#: ``request_id``, which a client may choose (docs/contract.md#request-id).
platform_ids_var: ContextVar[Mapping[str, str] | None] = ContextVar("platform_ids", default=None)

_STANDARD_ATTRS: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's copy of the message with ANSI colours: not for JSON
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, the platform's
    request ids when set, and any ``extra``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        if platform_ids := platform_ids_var.get():
            line.update(platform_ids)
        attributes = vars(record)
        for key in attributes.keys() - _STANDARD_ATTRS:  # the `extra` fields
            if not key.startswith("_"):
                line[key] = attributes[key]
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure_json_logging(level: int | str = logging.INFO) -> None:
    """Make the root logger write JSON lines to stderr (idempotent; Lambda's handler replaced)."""
    root = logging.getLogger()
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root.handlers[:] = [handler]
    root.setLevel(level)
