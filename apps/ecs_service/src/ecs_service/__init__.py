"""The query service: FastAPI on uvicorn (ECS Fargate), also runnable on Lambda via Mangum."""
