"""What the data plane's parts share: servers and processes on 127.0.0.1, and moto's clients
(docs/decisions/0015-runbook-rehearsal.md#the-data-plane)."""

from __future__ import annotations

import http.client
import os
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

from query_devstack import emulator_client, orphan_safe, wait_listening

__all__ = [
    "HOP_HEADERS",
    "Http",
    "Process",
    "Served",
    "client",
    "gateway",
    "local_env",
    "post",
    "relay",
]

_LOCAL_KEY = "testing"


#: A boto3 client of the emulator (query_devstack's, with its dummy keys).
client = emulator_client


class Process:
    """One local server process on 127.0.0.1, tied to us (``orphan_safe``); what it writes
    goes to a temporary file (``output()``: a Lambda's log lines), removed with ``stop``."""

    def __init__(self, name: str, command: list[str], port: int, env: Mapping[str, str]) -> None:
        self.name = name
        self.port = port
        self.function = ""  # the Lambda function it serves, if it is a data plane's worker
        self.url = f"http://127.0.0.1:{port}"
        self._log = tempfile.TemporaryFile(mode="w+b")  # noqa: SIM115 - closed by stop()
        self._process = subprocess.Popen(
            orphan_safe(command),
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        """Everything the process wrote so far."""
        fd = self._log.fileno()  # shared with the child: pread leaves its offset alone
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def wait(self, timeout: float = 30.0) -> None:
        """Until it listens; one that does not (it exited, or the time is up) is stopped, and
        the error names its last line of output. Any other interruption stops it too."""
        try:
            wait_listening(self.port, name=self.name, process=self._process, timeout=timeout)
        except RuntimeError as exc:
            last = self.output().strip().splitlines()[-1:] or ["(no output)"]
            self.stop()
            raise RuntimeError(f"{exc}: {last[0]}") from exc
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()


def gateway(handler: str, port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "local_stack.gateway", "--handler", handler,
            "--port", str(port), *extra]  # fmt: skip


def local_env(moto_url: str, region: str) -> dict[str, str]:
    return {
        "ENVIRONMENT": "local",
        "AWS_ACCESS_KEY_ID": _LOCAL_KEY,
        "AWS_SECRET_ACCESS_KEY": _LOCAL_KEY,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ENDPOINT_URL": moto_url,
    }


#: ``CONNECT host:port``'s host -> the TLS context to terminate its tunnel with (None: 502).
Tunnel = Callable[[str], ssl.SSLContext | None]


class Http:
    """A threading HTTP server on 127.0.0.1 whose answers come from ``answer``. With
    ``tunnel``, it is also an HTTPS proxy: ``CONNECT`` to a host ``tunnel`` has a context for
    is answered 200, TLS is terminated with that context, and each request inside reaches
    ``answer`` as an absolute ``https://host/...`` target, as a forward proxy sees a plain
    ``http://`` one."""

    def __init__(
        self,
        answer: Callable[[str, str, dict[str, str], bytes], tuple[int, dict[str, str], bytes]],
        *,
        tunnel: Tunnel | None = None,
    ) -> None:
        outer = answer

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            #: ``https://host`` inside a CONNECT tunnel: the origin of the requests it carries.
            origin = ""

            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                target = self.origin + self.path
                status, out, payload = outer(self.command, target, headers, body)
                self.send_response(status)
                for name, value in out.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any  # noqa: N815 - http.server's names

            def do_CONNECT(self) -> None:
                host = self.path.rpartition(":")[0] or self.path
                context = tunnel(host) if tunnel is not None and not self.origin else None
                if context is None:
                    self.send_error(502 if tunnel else 501, f"no tunnel to {host}")
                    return
                self.send_response(200, "Connection Established")
                self.end_headers()
                self.close_connection = True  # the tunnel is the rest of this connection
                try:
                    inner = context.wrap_socket(self.connection, server_side=True)
                except (OSError, ssl.SSLError):
                    return  # the client refused the certificate: its own error says why
                tunnelled = type("Tunnelled", (Handler,), {"origin": f"https://{host}"})
                with inner:  # it took over the connection's socket: closed with it
                    tunnelled(inner, self.client_address, self.server)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def post(
    url: str, path: str, body: bytes, headers: Mapping[str, str], method: str = "POST"
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request(method, path, body or None, dict(headers))
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


#: Headers of one connection, not of the request or the answer: never relayed either way.
HOP_HEADERS = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", "date", "server"}
)


def relay(  # noqa: PLR0917 - a request's parts, as Http hands them
    url: str, target: str, body: bytes, headers: Mapping[str, str], method: str = "POST",
    hop: frozenset[str] = HOP_HEADERS,
) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    """The request passed on to ``url`` and its answer passed back, neither with the headers
    of its own connection (``hop``)."""
    sent = {k: v for k, v in headers.items() if k not in hop}
    status, got, payload = post(url, target, body, sent, method)
    return status, {k: v for k, v in got.items() if k not in hop}, payload


class Served:
    """A local part whose whole life is its ``Http`` server (``self._http``): started and
    stopped with it, usable as ``with part: ...``."""

    _http: Http

    def start(self) -> None:
        self._http.start()

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
