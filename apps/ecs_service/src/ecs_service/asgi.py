"""``ecs_service.asgi:app``: the application uvicorn imports (in each worker)."""

from ecs_service.app import create_app

app = create_app()
