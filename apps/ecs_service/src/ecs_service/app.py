"""``create_app()``: the FastAPI application of the query service (docs/contract.md#public-api)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from query_core import (
    MAX_BODY_BYTES,
    RESULT_PATH,
    RETIRED_MARKETING_DETAIL,
    RETIRED_PATH,
    PayloadTooLargeError,
    QueryRequest,
    QueryResponse,
    RequestError,
    UnsupportedMediaTypeError,
    is_json_media_type,
    parse_query_request,
)
from query_http_client import AsyncQueryClient

from ecs_service.errors import register_error_handlers
from ecs_service.middleware import RequestIdMiddleware
from ecs_service.settings import ServiceSettings, get_settings
from ecs_service.upstream import create_client

__all__ = ["create_app"]

_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


async def _read_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it passes 64 KiB (without reading the rest)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLargeError
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    settings: ServiceSettings | None = None, client: AsyncQueryClient | None = None
) -> FastAPI:
    """The application; ``settings`` and the results ``client`` default to the environment's."""
    settings = settings or get_settings()
    upstream = client or create_client(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await upstream.open()
        try:
            yield
        finally:
            await upstream.aclose()

    app = FastAPI(
        title="Query service",
        version="0.1.0",
        summary="One page of a user's stored results, newest first.",
        lifespan=lifespan,
        # The docs routes are added last (below), so that the API's own routes match first.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(RequestIdMiddleware)
    register_error_handlers(app)

    @app.post(
        RESULT_PATH,
        response_model=QueryResponse,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": QueryRequest.model_json_schema()}},
            }
        },
        responses={
            400: {"description": "Body is not JSON, or next_token is invalid"},
            413: {"description": "Body over 64 KiB"},
            415: {"description": "Body is not application/json"},
            422: {"description": "JSON that breaks the field rules"},
            502: {"description": "The internal API answered something unusable"},
            503: {"description": "The internal API is unavailable or throttling"},
            504: {"description": "The internal API did not answer in time"},
        },
    )
    async def query_result(request: Request) -> Response:
        """One page of a user's results, newest first (docs/contract.md#query-result)."""
        if not is_json_media_type(request.headers.get("content-type")):
            raise UnsupportedMediaTypeError
        query = parse_query_request(await _read_body(request))
        page = await upstream.query(query, request_id=request.state.request_id)
        return Response(page.model_dump_json(), media_type="application/json")

    for path in (RETIRED_PATH, RETIRED_PATH + "/{rest:path}"):
        for method in _ALL_METHODS:
            app.add_api_route(
                path,
                _retired_endpoint,
                methods=[method],
                include_in_schema=path == RETIRED_PATH and method in ("GET", "POST"),
                operation_id=f"retired_marketing_{method.lower()}{'_below' if '{' in path else ''}",
                status_code=410,
                summary="Retired: the marketing-campaign query",
                responses={410: {"description": RETIRED_MARKETING_DETAIL}},
            )

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        """ALB health check: answers without calling anything downstream."""
        return {"status": "ok"}

    app.openapi_url, app.docs_url, app.redoc_url = "/openapi.json", "/docs", "/redoc"
    app.setup()
    return app


class _GoneError(RequestError):
    status_code = 410

    def __init__(self) -> None:
        super().__init__(RETIRED_MARKETING_DETAIL)


async def _retired_endpoint() -> None:
    """Every method on /query/marketing and below answers 410 Gone.

    See docs/contract.md#retired-marketing.
    """
    raise _GoneError()
