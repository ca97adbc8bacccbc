"""The query service (docs/contract.md#public-api): ``create_app()`` builds its FastAPI
application, ``create_service()`` what uvicorn and Mangum serve (the app, with the hot route's
dispatcher in front unless ``HOT_PATH=false``: ``ecs_service.hot_route``).

Glue only: the rules (request ids, the error table and its answers, the retired path's
410, body limits, the models) live in ``query_core``, the upstream call in
``query_http_client``; this module routes, reads the body and hands over.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema
from query_core import (
    MAX_BODY_BYTES,
    RESULT_PATH,
    RETIRED_PATH,
    BadGatewayError,
    BadRequestError,
    ForbiddenError,
    GatewayTimeoutError,
    PayloadTooLargeError,
    QueryRequest,
    QueryResponse,
    RequestValidationError,
    RetiredPathError,
    ServiceUnavailableError,
    TooManyRequestsError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    is_json_media_type,
    openapi_responses,
    parse_query_request,
)
from query_http_client import AsyncQueryClient

from ecs_service.caller import CallerResolver, header_caller
from ecs_service.errors import ERROR_HANDLERS, register_error_handlers
from ecs_service.hot_route import HotRouteDispatcher
from ecs_service.middleware import RequestIdMiddleware
from ecs_service.settings import ServiceSettings, get_settings
from ecs_service.upstream import create_client

__all__ = ["create_app", "create_service"]

#: The app's middleware, outermost first: also around the hot route's straight way.
_MIDDLEWARE = (RequestIdMiddleware,)

_ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
#: What ``POST /query/result`` may answer besides its page.
_RESULT_ERRORS = (
    BadRequestError,
    UnauthorizedError,
    ForbiddenError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    RequestValidationError,
    TooManyRequestsError,
    BadGatewayError,
    ServiceUnavailableError,
    GatewayTimeoutError,
)
_REQUEST_SCHEMA_REF = "#/components/schemas/{model}"
#: The body is read by hand (for the 413/415/400 answers); its schema is QueryRequest's.
_REQUEST_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/QueryRequest"}}}
#: The path below /query/marketing, documented without a validation (422) answer it cannot give.
_BELOW = {
    "parameters": [{"name": "rest", "in": "path", "required": True, "schema": {"type": "string"}}]
}


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
    settings: ServiceSettings | None = None,
    client: AsyncQueryClient | None = None,
    caller: CallerResolver | None = None,
) -> FastAPI:
    """The application; ``settings`` and the results ``client`` default to the environment's,
    and ``caller`` (who the owner check compares ``user_id`` with) to ``X-Caller-Id`` with the
    caller proof the settings ask for (``ecs_service.caller``)."""
    settings = settings or get_settings()
    upstream = client or create_client(settings)
    owner_check = settings.owner_check
    resolve_caller = caller or header_caller(settings.proof_keys)

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
        # /query/result/ is an unknown path (404), not a redirect built from the Host header.
        redirect_slashes=False,
        # The docs routes are added last (below), so that the API's own routes match first.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    for middleware in reversed(_MIDDLEWARE):  # each one added becomes the outermost
        app.add_middleware(middleware)
    register_error_handlers(app)

    async def query_result(request: Request) -> Response:
        """One page of a user's results, newest first (docs/contract.md#query-result)."""
        # The last Content-Type, as API Gateway passes on a repeated header.
        content_types = request.headers.getlist("content-type")
        if not is_json_media_type(content_types[-1] if content_types else None):
            raise UnsupportedMediaTypeError
        query = parse_query_request(await _read_body(request))
        if owner_check and resolve_caller(request) != query.user_id:
            raise ForbiddenError  # docs/contract.md#ownership
        # The upstream's page, validated; sent on as its own bytes when exactly a page.
        page = await upstream.query_json(query, request_id=request.state.request_id)
        return Response(page, media_type="application/json")

    # Documented here; served straight by create_service()'s dispatcher unless HOT_PATH=false.
    app.router.add_api_route(
        RESULT_PATH,
        query_result,
        methods=["POST"],
        response_model=QueryResponse,
        openapi_extra={"requestBody": {"required": True, "content": _REQUEST_CONTENT}},
        responses=openapi_responses(error.status_code for error in _RESULT_ERRORS),
    )

    for path, extra in ((RETIRED_PATH, None), (RETIRED_PATH + "/{rest:path}", _BELOW)):
        for method in _ALL_METHODS:
            app.add_api_route(
                path,
                _retired_endpoint,
                openapi_extra=extra,
                methods=[method],
                operation_id=f"retired_marketing_{method.lower()}{'_below' if '{' in path else ''}",
                deprecated=True,
                status_code=RetiredPathError.status_code,
                summary="Retired: the marketing-campaign query",
                response_description=RetiredPathError.description,
                responses=openapi_responses([RetiredPathError.status_code]),
            )

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        """ALB health check: answers without calling anything downstream."""
        return {"status": "ok"}

    def openapi() -> dict[str, Any]:
        """FastAPI's document, plus the request body's schema among the components."""
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            _, definitions = models_json_schema(
                [(QueryRequest, "validation")], ref_template=_REQUEST_SCHEMA_REF
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(definitions["$defs"])
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented extension point
    if settings.environment != "production":  # never public, and Swagger UI loads a CDN
        app.openapi_url, app.docs_url, app.redoc_url = "/openapi.json", "/docs", "/redoc"
    app.setup()
    return app


def create_service(
    settings: ServiceSettings | None = None,
    client: AsyncQueryClient | None = None,
    caller: CallerResolver | None = None,
) -> FastAPI | HotRouteDispatcher:
    """The application as served: ``POST /query/result`` dispatched straight to its endpoint,
    the rest to FastAPI; only FastAPI with ``HOT_PATH=false``."""
    settings = settings or get_settings()
    app = create_app(settings, client, caller)
    if not settings.hot_path:
        return app
    return HotRouteDispatcher(
        app, "POST", RESULT_PATH, handlers=ERROR_HANDLERS, middleware=_MIDDLEWARE
    )


async def _retired_endpoint() -> None:
    """Every method on /query/marketing and below answers 410 Gone.

    See docs/contract.md#retired-marketing.
    """
    raise RetiredPathError
