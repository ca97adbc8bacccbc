"""One HTTP hop of ``smoke``: its calls, timed, and each call's verdict (docs/runbook.md#verify).

A hop inside the VPC (the ALB, the private API) that cannot be reached from where the tool
runs is "not reachable from here", not a failure; the public URL is, since clients reach it
from anywhere, and so is its authorizer's refusal of the credentials smoke sends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import httpx2

from query_migrate._checks import Check

if TYPE_CHECKING:
    from query_http_client.sigv4 import SigV4Signer

__all__ = ["Hop", "expect", "page_check"]


class Hop:
    """HTTP calls to one base URL, timed. A connection failure means "not reachable from here"
    (the ALB and the private API admit only hosts in the VPC), except on the ``public`` URL:
    clients call it from anywhere, so there it is a failure, and so is a refusal of the
    credentials smoke sends (the public API's authorizer)."""

    def __init__(
        self,
        client: httpx2.Client,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        signer: SigV4Signer | None = None,
        public: bool = False,
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._headers = dict(headers or {})
        self._signer = signer
        self.public = public

    def call(
        self, method: str, path: str, request_id: str, body: bytes = b""
    ) -> tuple[httpx2.Response, float]:
        url = self._base + path
        headers = {**self._headers, "x-request-id": request_id}
        if body:
            headers["content-type"] = "application/json"
        if self._signer is not None:
            headers = dict(self._signer(method, url, headers, body))
        started = time.perf_counter()
        response = self._client.request(method, url, content=body or None, headers=headers)
        return response, (time.perf_counter() - started) * 1000


#: Where a hop cannot be reached from here: no connection, or the environment's proxy has no
#: way there (a name only the VPC resolves: the proxy's 502 to ``CONNECT``).
_UNREACHABLE = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.ProxyError)
#: The fixes of the public URL's two failures that are the operator's, not the service's.
_PUBLIC_UNREACHABLE_FIX = (
    "clients call this URL: run smoke where it resolves and connects (a proxy in "
    "HTTPS_PROXY is followed), or give the URL clients use with --public-url"
)
_PUBLIC_REFUSED_FIX = (
    "the public API's authorizer refused smoke's request: send the test identity's "
    "credentials as a client does, -H 'Authorization: <its token>' or --public-auth iam "
    "(docs/runbook.md#the-test-identity)"
)


def _page_problem(response: httpx2.Response, user: str) -> str | None:
    if response.status_code != 200:
        return f"status {response.status_code}: {response.text[:120]}"
    try:
        page = response.json()
    except ValueError:
        return "the body is not JSON"
    if not isinstance(page, dict) or not isinstance(page.get("items"), list):
        return f"not a page: {response.text[:120]}"
    if page.get("user_id") != user or page.get("count") != len(page["items"]):
        return "user_id or count do not match the page"
    return None


def _echo_problem(response: httpx2.Response, request_id: str) -> str | None:
    echoed = response.headers.get("x-request-id")
    return None if echoed == request_id else f"X-Request-Id {echoed!r}, sent {request_id!r}"


def expect(
    name: str,
    hop: Hop,
    method: str,
    path: str,
    request_id: str,
    *,
    status: int | Callable[[int], bool],
    body: bytes = b"",
    user: str | None = None,
    gateways_own: tuple[int, ...] = (),
) -> Check:
    """One call and its verdict; an answer whose status is in ``gateways_own`` is API
    Gateway's own (no integration ran), which echoes no ``X-Request-Id``."""
    try:
        response, ms = hop.call(method, path, request_id, body)
    except _UNREACHABLE as exc:
        if hop.public:
            return Check.fail(name, f"not reachable ({type(exc).__name__}: {exc})",
                              _PUBLIC_UNREACHABLE_FIX)  # fmt: skip
        return Check.skipped(name, f"not reachable from here ({type(exc).__name__})")
    except httpx2.HTTPError as exc:
        return Check.fail(name, f"{type(exc).__name__}: {exc}", "see the hop's logs")
    if hop.public and response.status_code in (401, 403) and path != "/health":
        refused = f"status {response.status_code}: {response.text[:120]}"
        return Check.fail(name, refused, _PUBLIC_REFUSED_FIX, latency_ms=ms)
    wanted = status(response.status_code) if callable(status) else response.status_code == status
    problem = (
        _page_problem(response, user)
        if user is not None
        else (None if wanted else f"status {response.status_code}")
    )
    if response.status_code not in gateways_own:
        problem = problem or _echo_problem(response, request_id)
    if problem:
        return Check.fail(name, problem, "see the hop's logs for this request id", latency_ms=ms)
    detail = f"{response.status_code}"
    if user is not None:
        detail += f", {response.json()['count']} item(s)"
    return Check.ok(name, f"{detail}, X-Request-Id echoed", latency_ms=ms)


def page_check(name: str, hop: Hop, request_id: str, page: bytes, user: str) -> Check:
    """A page for ``user`` from ``POST /query/result``: 200, its items, the id echoed."""
    return expect(name, hop, "POST", "/query/result", request_id, status=200, body=page, user=user)
