"""``ecs_service.asgi:app``: the application uvicorn imports (in each worker)."""

from query_core import configure_json_logging

from ecs_service.app import create_app
from ecs_service.settings import get_settings

configure_json_logging(get_settings().log_level)
app = create_app()
