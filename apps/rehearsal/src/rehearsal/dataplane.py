"""The data plane that follows the emulated account: code runs where moto's control plane says.

docs/decisions/0015-runbook-rehearsal.md#the-data-plane. Three parts, all on 127.0.0.1:

- **The stand-ins** (``rehearsal.standins``): the local chain's real processes behind the
  fixture's names. The EKS handler (``query-handler.eks.internal``) is the ECS service with
  ``RESULT_SOURCE=lambda`` (the old code path, as the rollback source models it), calling the
  Query Result Lambda through a local Invoke API, behind the old side's own token spelling
  (``_old_spelling``: a page that crosses paths is refused, as decision 11 says it would
  be); the ALB (any load balancer's DNS name moto holds) is the ECS service over the
  internal API (the Query Result Lambda behind a local API Gateway). Both read the fixture's
  results table in moto.
- **Lambda's API** (``LambdaDataPlane``): ``Invoke`` of a function whose ``Handler`` the
  rehearsal knows (``HANDLERS``) runs its real handler, with the configuration moto holds at
  that moment: an alias's version chosen per invocation by its ``RoutingConfig`` weights, as
  Lambda does, and that version's environment. Each (function, version, environment) is a
  worker process of its own (``python -m local_stack.gateway --invoke``, started on first use),
  since handlers read their settings at start. A URL in that environment whose host is a
  fixture's name is rewritten to the stand-in's (the seam: the worker is handed local URLs; no
  resolver is patched). Every other call goes to moto (``LambdaAccountFront``).
- **The public API** (``RestApiDataPlane``): stage ``prod`` of the fixture's REST API. Each
  request reads the method's integration from moto (``GetIntegration``: what ``attach`` and
  ``detach`` write) and invokes the function its ``uri`` names through ``LambdaDataPlane``.
  The authorizer is simulated: ``Authorization: <user_id>`` of a known user is that user, as
  the Cognito claim ``sub`` (the claim ``discover`` finds); any other value is 401. Each
  request, whatever its answer, is a line of the stage's access log (``rehearsal.accesslog``).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import parse_qs, quote, unquote, urlsplit

from query_devstack import LambdaAccountFront, RecordedRequest, free_port

from rehearsal._local import Http, Process, Served, client, gateway, local_env, post
from rehearsal.accesslog import AccessLog, LoggedRequest

__all__ = ["HANDLERS", "LambdaDataPlane", "Resolved", "RestApiDataPlane", "rewrite_urls"]

#: A function's ``Handler`` setting -> the code it runs here (``module:function``). The
#: fixture's old Query Lambda is packaged flat (``handler.handler``) and runs the old code
#: (``rehearsal.legacy``); the stack's run this repository's handlers.
HANDLERS: Mapping[str, str] = {
    "handler.handler": "rehearsal.legacy:handler",
    "lambdas.query.handler.handler": "lambdas.query.handler:handler",
    "lambdas.query_result.handler.handler": "lambdas.query_result.handler:handler",
}
_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")


#: What a function whose environment says ``production`` runs with here: in production the
#: code talks to AWS's own endpoints and ignores any override (``query_core.aws``), and here
#: AWS is moto's server. ``local`` keeps every setting the template gives (secrets, URLs,
#: the public API id) and only takes the endpoint from ``AWS_ENDPOINT_URL``; the production
#: start-up checks (each setting present) are the Lambdas' own tests' and the deploy's.
AWS_IS_MOTO = "local"


def rewrite_urls(env: Mapping[str, str], hosts: Callable[[str], str | None]) -> dict[str, str]:
    """``env`` with each ``http(s)://`` value whose host ``hosts`` maps re-based on that URL.

    ``http://query-handler.eks.internal:8080/`` -> ``http://127.0.0.1:PORT/``: the path and
    query stay, the scheme and authority are the stand-in's.
    """
    out = dict(env)
    for key, value in env.items():
        if not value.startswith(("http://", "https://")):
            continue
        parts = urlsplit(value)
        base = hosts(parts.hostname or "")
        if base is None:
            continue
        rest = parts.path + (f"?{parts.query}" if parts.query else "")
        out[key] = base.rstrip("/") + (rest or "")
    return out


@dataclass(frozen=True)
class Resolved:
    """What one invocation runs: the function, the version the alias chose, its handler and
    environment (already rewritten to the stand-ins)."""

    function: str
    version: str
    handler: str
    environment: tuple[tuple[str, str], ...]

    @property
    def key(self) -> str:
        text = json.dumps([self.function, self.version, self.handler, self.environment])
        return hashlib.sha256(text.encode()).hexdigest()


class LambdaDataPlane:
    """Lambda's API: ``Invoke`` of a known handler runs it locally as moto's configuration
    says; the rest is ``LambdaAccountFront``'s (GetAccountSettings answered, else moto)."""

    def __init__(
        self,
        moto_url: str,
        *,
        hosts: Callable[[str], str | None],
        region: str = "us-east-1",
        handlers: Mapping[str, str] = HANDLERS,
        rng: random.Random | None = None,
    ) -> None:
        self.moto_url = moto_url
        self._hosts = hosts
        self._region = region
        self._handlers = handlers
        self._rng = rng or random.Random()  # noqa: S311 - a routing choice, not a secret
        self._account = LambdaAccountFront(moto_url, region=region)
        self._http = Http(self.answer)
        self._lock = threading.Lock()
        self._workers: dict[str, Process] = {}
        # Workers are started from this one thread, alive as long as the data plane: the
        # kernel's SIGTERM on our death (orphan_safe) is tied to the thread that started them.
        self._starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workers")
        self._lambda = client("lambda", moto_url, region)
        self.url = self._http.url
        #: Each local invocation's (function, version), in order: what the tests read and the
        #: canary counts (Lambda's ``Invocations`` by ``ExecutedVersion``).
        self.invoked: list[tuple[str, str]] = []
        #: The invocations that ended in a function error (Lambda's ``Errors``).
        self.crashed: list[tuple[str, str]] = []

    def start(self) -> None:
        self._http.start()

    def stop(self) -> None:
        self._http.stop()
        with self._lock:
            for worker in self._workers.values():
                worker.stop()
            self._workers.clear()
        self._starter.shutdown()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def logs(self, function: str) -> dict[str, str]:
        """What each running worker of ``function`` has written (one per version and
        configuration, by key): Lambda's log stream of it, the access lines included."""
        with self._lock:
            workers = {key: w for key, w in self._workers.items() if w.function == function}
        return {key: worker.output() for key, worker in workers.items()}

    @property
    def worker_ports(self) -> list[int]:
        """The ports of the workers running now."""
        with self._lock:
            return [worker.port for worker in self._workers.values()]

    def resolve(self, target: str, qualifier: str | None) -> Resolved | None:
        """The version and configuration an invocation of ``target`` runs now; None when its
        handler is not one the rehearsal knows (moto answers it)."""
        name = unquote(target)
        if name.startswith("arn:"):
            parts = name.split(":")
            name, qualifier = parts[6], (parts[7] if len(parts) > 7 else qualifier)
        elif ":" in name:
            name, qualifier = name.split(":", 1)
        version = qualifier or "$LATEST"
        if version != "$LATEST" and not version.isdigit():
            alias = self._lambda.get_alias(FunctionName=name, Name=version)
            version = alias["FunctionVersion"]
            weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
            draw, total = self._rng.random(), 0.0
            for other, weight in weights.items():
                total += float(weight)
                if draw < total:
                    version = other
                    break
        config = self._lambda.get_function_configuration(FunctionName=name, Qualifier=version)
        handler = self._handlers.get(config.get("Handler", ""))
        if handler is None:
            return None
        env = (config.get("Environment") or {}).get("Variables") or {}
        env = rewrite_urls(env, self._hosts)
        return Resolved(config["FunctionName"], config.get("Version", version), handler,
                        tuple(sorted(env.items())))  # fmt: skip

    def _worker(self, resolved: Resolved) -> Process:
        with self._lock:
            worker = self._workers.get(resolved.key)
            if worker is None:
                env = {**local_env(self.moto_url, self._region), **dict(resolved.environment)}
                if env.get("ENVIRONMENT") == "production":
                    env["ENVIRONMENT"] = AWS_IS_MOTO
                env["AWS_LAMBDA_FUNCTION_NAME"] = resolved.function  # as Lambda's runtime sets
                env["AWS_LAMBDA_FUNCTION_VERSION"] = resolved.version
                port = free_port()
                command = gateway(resolved.handler, port, "--invoke", resolved.function)
                name = f"{resolved.function}:{resolved.version}"
                worker = self._starter.submit(Process, name, command, port, env).result()
                worker.function = resolved.function
                worker.wait()  # stopped if it never listens
                self._workers[resolved.key] = worker
            return worker

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        path, _, query = target.partition("?")
        match = _INVOKE.match(path)
        resolved = None
        if method == "POST" and match:
            qualifiers = parse_qs(query).get("Qualifier") or []
            qualifier = qualifiers[0] if qualifiers else None
            try:
                resolved = self.resolve(match["name"], qualifier)
            except Exception:
                resolved = None
        if resolved is None:
            reply = self._account.reply(RecordedRequest(method, target, headers, body, 0))
            return reply.status, reply.headers, reply.body
        try:
            worker = self._worker(resolved)
        except RuntimeError as exc:  # the function's init failed: Lambda's Runtime.ExitError
            sys.stderr.write(f"the data plane: {exc}\n")
            error = {"errorType": "Runtime.ExitError", "errorMessage": str(exc)}
            return 200, {"x-amz-function-error": "Unhandled", "content-type":
                         "application/json"}, json.dumps(error).encode()  # fmt: skip
        self.invoked.append((resolved.function, resolved.version))
        sent = {k: v for k, v in headers.items() if k.startswith("x-amz-client-context")}
        status, got, payload = post(worker.url, f"/2015-03-31/functions/{resolved.function}"
                                     "/invocations", body, sent)  # fmt: skip
        if "x-amz-function-error" in {k.lower() for k in got}:
            self.crashed.append((resolved.function, resolved.version))
        kept = {k: v for k, v in got.items() if k.startswith(("x-amz", "content-type"))}
        kept["x-amz-executed-version"] = resolved.version
        return status, kept, payload


def _matches(template: str, path: str) -> dict[str, str] | None:
    """The path parameters when ``path`` fits the resource ``template``, else None."""
    want, got = template.strip("/").split("/"), path.strip("/").split("/")
    params: dict[str, str] = {}
    for index, part in enumerate(want):
        if part.startswith("{") and part.endswith("+}"):
            if index >= len(got):
                return None
            params[part[1:-2]] = "/".join(got[index:])
            return params
        if index >= len(got):
            return None
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = got[index]
        elif part != got[index]:
            return None
    return params if len(want) == len(got) else None


class RestApiDataPlane(Served):
    """Stage ``stage`` of the REST API ``api_id``: each request invokes what its method's
    integration names at that moment, through ``lambda_url`` (``LambdaDataPlane``)."""

    def __init__(
        self,
        moto_url: str,
        lambda_url: str,
        *,
        api_id: str,
        users: Iterable[str],
        stage: str = "prod",
        region: str = "us-east-1",
    ) -> None:
        self._apigw = client("apigateway", moto_url, region)
        self._lambda_url = lambda_url
        self._api_id = api_id
        self._users = frozenset(users)
        self._stage = stage
        self._http = Http(self.answer)
        self.url = f"{self._http.url}/{stage}"
        self.access_log = AccessLog(moto_url, api_id=api_id, stage=stage, region=region)
        #: Told each answer's status (API Gateway's metrics: ``rehearsal.metrics``).
        self.on_answer: Callable[[int], None] | None = None

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """The stage's answer, and its line in the stage's access log."""
        started, seen = time.time(), {"requestId": str(uuid.uuid4())}
        status, out, payload = self._answer(method, target, headers, body, seen)
        self.access_log.write(LoggedRequest(
            seen["requestId"], method, target.partition("?")[0], seen.get("resourcePath", "-"),
            status, len(payload), started, self._api_id, self._stage,
            resource_id=seen.get("resourceId", "-"), user_agent=headers.get("user-agent", "-"),
            domain=headers.get("host", "-"), latency_ms=round((time.time() - started) * 1000),
            claims={"sub": seen["sub"]} if "sub" in seen else {},
        ))  # fmt: skip
        if self.on_answer is not None:
            self.on_answer(status)
        return status, out, payload

    def _route(self, path: str, method: str) -> tuple[dict[str, Any], dict[str, str], str] | None:
        resources = self._apigw.get_resources(restApiId=self._api_id, limit=500)["items"]
        # The most specific first: a literal path before a {proxy+} that also fits.
        for resource in sorted(resources, key=lambda r: ("+}" in r["path"], -len(r["path"]))):
            params = _matches(resource["path"], path)
            if params is None:
                continue
            methods = resource.get("resourceMethods") or {}
            verb = method if method in methods else "ANY" if "ANY" in methods else None
            if verb is None:
                return None
            integration = self._apigw.get_integration(
                restApiId=self._api_id, resourceId=resource["id"], httpMethod=verb
            )
            return resource, params, integration["uri"]
        return None

    def _answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes, seen: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        json_type = {"content-type": "application/json"}
        path, _, query = target.partition("?")
        prefix = f"/{self._stage}"
        if not path.startswith(prefix + "/"):
            return 403, json_type, b'{"message":"Missing Authentication Token"}'
        path = path[len(prefix) :]
        route = self._route(path, method)
        if route is None:
            return 403, json_type, b'{"message":"Missing Authentication Token"}'
        resource, params, uri = route
        seen |= {"resourcePath": resource["path"], "resourceId": resource["id"]}
        user = headers.get("authorization", "")
        if user not in self._users:
            return 401, json_type, b'{"message":"Unauthorized"}'
        seen["sub"] = user
        function = uri.split("/functions/", 1)[1].removesuffix("/invocations")
        request_id = seen["requestId"]
        multi_query: dict[str, list[str]] = parse_qs(query, keep_blank_values=True)
        event = {
            "resource": resource["path"],
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": resource["id"],
                "resourcePath": resource["path"],
                "httpMethod": method,
                "path": target.partition("?")[0],
                "stage": self._stage,
                "requestId": request_id,
                "requestTimeEpoch": int(time.time() * 1000),
                "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("user-agent")},
                "authorizer": {"claims": {"sub": user}},
                "apiId": self._api_id,
                "accountId": "123456789012",
            },
            "body": body.decode() if body else None,
            "isBase64Encoded": False,
        }
        invoke = f"/2015-03-31/functions/{quote(function, safe='')}/invocations"
        status, got, payload = post(self._lambda_url, invoke, json.dumps(event).encode(), {})
        if status != 200 or "x-amz-function-error" in got:
            return 502, json_type, b'{"message":"Internal server error"}'
        try:
            result = json.loads(payload)
            out = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
            out["x-amzn-requestid"] = request_id
            out["x-rehearsal-executed-version"] = got.get("x-amz-executed-version", "")
            return int(result["statusCode"]), out, (result.get("body") or "").encode()
        except (ValueError, KeyError, TypeError, AttributeError):
            return 502, json_type, b'{"message":"Internal server error"}'
