"""The HTTP proxy the runbook's blocks are given (``http_proxy``): the hosts the account names
reach their stand-ins, as they would from a host in the VPC
(docs/decisions/0015-runbook-rehearsal.md#the-data-plane).

A command that reads a URL from the account (``shadow``'s old side, the context's
``oldEksHandlerUrl``; an ALB's ``ServiceUrl``) connects to a name that exists only in the
fixture. The blocks' environment sends plain-HTTP requests here (``http_proxy``, with
``127.0.0.1`` left out: the emulated AWS APIs), and the proxy forwards each to the stand-in of
its host (``StandIns.hosts``, the data plane's own map); a host without one is a 502 that
names it. No resolver is patched and the command is not told anything: it follows the
environment's proxy as any HTTP client does.

HTTPS too (``https_proxy``): the public API's ``https://<id>.execute-api.<region>.amazonaws.com``
that ``smoke`` calls as clients do. ``CONNECT`` to a host with a stand-in is answered, and TLS
is terminated there with a certificate for that name from a CA made for this run (trustme);
the blocks trust that CA alone (``SSL_CERT_FILE`` is ``ca_file``), so a name without a
stand-in gets no tunnel (502) and a client that checks certificates still checks them.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import trustme

from rehearsal._local import HOP_HEADERS, Http, Served, relay

__all__ = ["HostProxy"]

#: Hop-by-hop and per-connection headers, not forwarded either way: a proxy's too.
_HOP = HOP_HEADERS | {"proxy-connection", "proxy-authorization", "keep-alive"}


class HostProxy(Served):
    """A forward proxy on 127.0.0.1 for absolute ``http://`` requests and ``CONNECT`` tunnels:
    host -> ``hosts``' base URL. ``ca_file`` (in ``directory``) is the CA its tunnels'
    certificates chain to."""

    def __init__(self, hosts: Callable[[str], str | None], directory: Path) -> None:
        self._hosts = hosts
        self._ca = trustme.CA()
        self.ca_file = directory / "rehearsal-proxy-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_file))
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self._http = Http(self.answer, tunnel=self._tunnel)
        self.url = self._http.url
        #: Each forwarded request's (host, path), in order: what the tests read.
        self.forwarded: list[tuple[str, str]] = []

    def _tunnel(self, host: str) -> ssl.SSLContext | None:
        """The TLS context for ``host``'s tunnel: a certificate for that name; None without a
        stand-in."""
        if self._hosts(host) is None:
            return None
        with self._lock:
            if host not in self._contexts:
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                self._ca.issue_cert(host).configure_cert(context)
                self._contexts[host] = context
            return self._contexts[host]

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        json_type = {"content-type": "application/json"}
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            detail = f"the rehearsal's proxy takes absolute http(s):// URLs, not {target!r}"
            return 400, json_type, json.dumps({"message": detail}).encode()
        base = self._hosts(parts.hostname)
        if base is None:
            detail = f"no stand-in for {parts.hostname!r}: the emulated account has no such host"
            return 502, json_type, json.dumps({"message": detail}).encode()
        path = (urlsplit(base).path.rstrip("/") + parts.path) or "/"
        if parts.query:
            path += f"?{parts.query}"
        self.forwarded.append((parts.hostname, path))
        return relay(base, path, body, headers, method, _HOP)
