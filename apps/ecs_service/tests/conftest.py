"""Fixtures: the real service under uvicorn on 127.0.0.1, before a real misbehaving upstream."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import urllib3
import uvicorn
from ecs_service.app import create_service
from ecs_service.settings import ServiceSettings
from query_core.testing import JsonLogs, capture_json_logs
from query_devstack import MisbehavingServer, Reply, free_port
from query_http_client import AsyncQueryClient, TransportRequest

PAGE = {
    "user_id": "u-1",
    "items": [
        {
            "result_id": "01J",
            "user_id": "u-1",
            "ap_id": None,
            "status": "done",
            "created_at": "2026-01-01T00:00:00Z",
            "data": {"n": 1.5, "big": 12345678901234567890},
        }
    ],
    "count": 1,
    "next_token": "tok.en",
}


def page_reply(**kwargs: Any) -> Reply:
    return Reply(body=json.dumps(PAGE).encode(), **kwargs)


class RunningService:
    """uvicorn serving an app in a thread; ``request`` sends real HTTP to it."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.http = urllib3.PoolManager(retries=False)

    def __enter__(self) -> RunningService:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.http.clear()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> urllib3.BaseHTTPResponse:
        if body is not None and not isinstance(body, bytes | str):
            body = json.dumps(body)
            headers = {"Content-Type": "application/json", **(headers or {})}
        return self.http.request(method, self.url + path, body=body, headers=headers, **kwargs)


@pytest.fixture
def upstream() -> Iterator[MisbehavingServer]:
    with MisbehavingServer(page_reply()) as server:
        yield server


@pytest.fixture
def settings(upstream: MisbehavingServer) -> ServiceSettings:
    return ServiceSettings(
        internal_api_url=upstream.url + "/prod",
        upstream_deadline_seconds=1.0,
        upstream_attempt_timeout_seconds=1.0,
        environment="local",
    )


@pytest.fixture
def service(settings: ServiceSettings) -> Iterator[RunningService]:
    with RunningService(create_service(settings)) as running:
        yield running


@pytest.fixture
def json_logs() -> Iterator[JsonLogs]:
    """The JSON log lines of INFO and above, whatever the logging set up before."""
    with capture_json_logs() as logs:
        yield logs


@pytest.fixture
def page() -> dict[str, Any]:
    """The page the upstream answers by default."""
    return json.loads(json.dumps(PAGE))


@pytest.fixture
def serve() -> Any:
    """Run another app under uvicorn: ``with serve(app) as running: ...``."""
    return RunningService


class _LambdaContext:
    """The Lambda context the Mangum entry is invoked with."""

    aws_request_id = "mangum-ctx"
    function_name = "query-service"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:query-service"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


@pytest.fixture
def lambda_context() -> _LambdaContext:
    return _LambdaContext()


class _BrokenTransport:
    """A transport with a bug: it raises what no translation table knows."""

    async def open(self) -> None: ...

    async def aclose(self) -> None: ...

    async def handle_async_request(self, request: TransportRequest, body: object) -> None:
        raise RuntimeError("arn:aws:lambda:ap-northeast-1:123:function:x exploded")


@pytest.fixture
def broken_client() -> Callable[[], AsyncQueryClient]:
    """Makes a results client whose transport has that bug."""
    return lambda: AsyncQueryClient(_BrokenTransport())


@pytest.fixture
def lambda_handler_factory(
    monkeypatch: pytest.MonkeyPatch, upstream: MisbehavingServer
) -> Iterator[Callable[[], Any]]:
    """The Mangum entry, loaded afresh from the environment when called."""
    monkeypatch.setenv("INTERNAL_API_URL", upstream.url + "/prod")
    monkeypatch.setenv("ENVIRONMENT", "local")
    from ecs_service import settings

    def load() -> Any:
        settings.get_settings.cache_clear()
        import importlib

        import ecs_service.lambda_handler as module

        return importlib.reload(module).handler

    yield load
    settings.get_settings.cache_clear()
    # Mangum makes an event loop for the process (as on Lambda) and never closes it.
    loop = asyncio.get_event_loop_policy().get_event_loop()
    loop.close()
    asyncio.set_event_loop(None)
