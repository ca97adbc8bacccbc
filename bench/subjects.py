"""The processes the service benchmark runs, each under its own uvicorn/aiohttp (bench only).

    upstream       a canned internal API: one page of results, optional delay (UPSTREAM_DELAY_MS)
    aiohttp_floor  baseline (a): a minimal FastAPI endpoint calling the upstream with aiohttp
    raw_asgi_floor the same call from a bare ASGI callable (no framework): the lowest floor
    httpx2_floor   the same endpoint on httpx2, for the client-stack comparison
    requests_sync  baseline (b): the straightforward design, requests.post in a threadpool endpoint

Run: python bench/subjects.py NAME PORT   (the upstream reads UPSTREAM_DELAY_MS)
"""

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

PAGE = json.dumps(
    {
        "user_id": "u-1001",
        "items": [
            {
                "result_id": f"01JBENCH{n:018d}",
                "user_id": "u-1001",
                "ap_id": "ap-search",
                "status": "done",
                "created_at": "2026-01-01T00:00:00Z",
                "data": {"query": f"report #{n}", "rows": n * 10, "score": 0.5, "tags": ["a", "b"]},
            }
            for n in range(5)
        ],
        "count": 5,
        "next_token": "bench.token",
    }
).encode()


def upstream(port: int) -> None:
    from aiohttp import web

    delay = float(os.environ.get("UPSTREAM_DELAY_MS", "0")) / 1000

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        if delay:
            await asyncio.sleep(delay)
        return web.Response(body=PAGE, content_type="application/json")

    app = web.Application()
    app.router.add_post("/prod/query/result", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def _raw_asgi_app() -> Any:
    """POST /query/result relayed with aiohttp by a plain ASGI callable, the lifespan by hand."""
    import aiohttp

    target = os.environ["UPSTREAM_URL"] + "/query/result"
    state: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    connector = aiohttp.TCPConnector(limit=100)
                    state["client"] = aiohttp.ClientSession(connector=connector)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await state["client"].close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["method"] != "POST" or scope["path"] != "/query/result":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        async with state["client"].post(
            target, data=b"".join(chunks), headers={"content-type": "application/json"}
        ) as r:
            page, status = await r.read(), r.status
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(page))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": page})

    return app


def _fastapi_app(kind: str) -> Any:
    from fastapi import FastAPI, Request, Response

    target = os.environ["UPSTREAM_URL"] + "/query/result"
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if kind == "aiohttp_floor":
            import aiohttp

            state["client"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        elif kind == "httpx2_floor":
            import httpx2

            state["client"] = httpx2.AsyncClient(limits=httpx2.Limits(max_connections=100))
        yield
        if "client" in state:
            await (state["client"].close() if kind == "aiohttp_floor" else state["client"].aclose())

    app = FastAPI(lifespan=lifespan)

    if kind == "aiohttp_floor":

        @app.post("/query/result")
        async def floor(request: Request) -> Response:
            body = await request.body()
            async with state["client"].post(
                target, data=body, headers={"content-type": "application/json"}
            ) as r:
                return Response(await r.read(), status_code=r.status, media_type="application/json")

    elif kind == "httpx2_floor":

        @app.post("/query/result")
        async def floor2(request: Request) -> Response:
            body = await request.body()
            r = await state["client"].post(
                target, content=body, headers={"content-type": "application/json"}
            )
            return Response(r.content, status_code=r.status_code, media_type="application/json")

    else:
        import requests

        @app.post("/query/result")
        def straightforward(payload: dict[str, Any]) -> Any:
            r = requests.post(target, json=payload, timeout=10)
            return r.json()

    return app


def main() -> None:
    name, port = sys.argv[1], int(sys.argv[2])
    if name == "upstream":
        upstream(port)
        return
    import uvicorn

    app = _raw_asgi_app() if name == "raw_asgi_floor" else _fastapi_app(name)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
