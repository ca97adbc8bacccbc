"""``ecs_service.asgi:app``: the application uvicorn imports (in each worker)."""

import gc

from query_core import configure_json_logging

from ecs_service.app import create_service
from ecs_service.settings import get_settings

configure_json_logging(get_settings().log_level)
app = create_service()

# What is alive now (modules, the app, its routes and models: most of the heap) lives as long
# as the process: leave it out of every garbage collection, which would otherwise walk it
# again and again under load (docs/decisions/0008-service-hot-path.md). Garbage first.
gc.collect()
gc.freeze()
