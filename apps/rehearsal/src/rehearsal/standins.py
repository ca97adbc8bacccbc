"""The stand-ins behind the fixture's names: the EKS handler and the ALB's service, real
processes on 127.0.0.1 on the fixture's table in moto
(docs/decisions/0015-runbook-rehearsal.md#the-data-plane); the ALB follows the account's ECS
service (docs/decisions/0015-runbook-rehearsal.md#the-alb)."""

from __future__ import annotations

import base64
import functools
import json
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any, Self

from query_core import is_retired_path
from query_devstack import DEFAULT_TABLE_NAME, free_port

from rehearsal._local import Http, Process, client, gateway, local_env, relay
from rehearsal.dataplane import AWS_IS_MOTO, HANDLERS, rewrite_urls
from rehearsal.front import Front, Target
from rehearsal.legacy import marketing_answer

__all__ = [
    "EKS_HOST",
    "LOCAL_CHAIN",
    "OLD_TOKEN_PREFIX",
    "StandIns",
    "task_environment",
]

#: The fixture's EKS handler (``old_query_lambda.environment.EKS_HANDLER_URL``).
EKS_HOST = "query-handler.eks.internal"
_LEGACY_FUNCTION = "query_result_lambda"
#: The Query Result Lambda's handler, which the internal API's stand-in runs.
_RESULT_HANDLER = "lambdas.query_result.handler:handler"

#: How the EKS stand-in spells its tokens: not this service's shape (decision 11).
OLD_TOKEN_PREFIX = "eks-"  # noqa: S105 - a token's spelling, not a secret
_REFUSED = b'{"detail":"next_token is malformed"}'
#: The EKS handler's marketing query: (body, headers) -> its answer.
Marketing = Callable[[bytes, dict[str, str]], tuple[int, dict[str, str], bytes]]
#: The ALB's first target, until the account has an ECS service behind a load balancer: the
#: local chain's service over the internal API.
LOCAL_CHAIN = "the local chain"
#: What ECS's tasks run with that a local process cannot: where it listens (the ALB's port is
#: the stand-in's) and the endpoint rule's environment (``rehearsal.dataplane.AWS_IS_MOTO``).
_PRODUCTION = "production"
#: The function a Lambda proxy integration's ``uri`` invokes (its name or ARN).
_FUNCTION_IN_URI = re.compile(
    r"/functions/(?:arn:[^:]+:lambda:[^:]+:\d+:function:)?(?P<function>[^/:]+)"
)


def _old_spelling(  # noqa: PLR0917 - one request's parts, as Http hands them
    upstream: str, marketing: Marketing, method: str, target: str, headers: dict[str, str],
    body: bytes,
) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    """The old EKS handler's side of the token split: ``upstream`` (the ECS service with
    ``RESULT_SOURCE=lambda``) behind its own token spelling, ``eks-`` and the service's token
    in base64url. A token not so spelled (the new side's) is 400, as the contract's answer to
    a malformed one, so a page that crosses paths is refused as it would be there. The
    marketing paths are the old handler's own query (``legacy.marketing_answer``)."""
    if is_retired_path(target.partition("?")[0]):
        return marketing(body, headers)
    json_type = {"content-type": "application/json"}
    try:
        document = json.loads(body) if body else None
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("next_token"), str):
        token = str(document["next_token"])
        if not token.startswith(OLD_TOKEN_PREFIX):
            return 400, json_type, _REFUSED
        try:
            document["next_token"] = base64.urlsafe_b64decode(
                token[len(OLD_TOKEN_PREFIX) :]
            ).decode()
        except (ValueError, UnicodeDecodeError):
            return 400, json_type, _REFUSED
        body = json.dumps(document).encode()
    status, out, payload = relay(upstream, target, body, headers, method)
    if status == 200 and out.get("content-type", "").startswith("application/json"):
        answer = json.loads(payload)
        if isinstance(answer, dict) and isinstance(answer.get("next_token"), str):
            spelled = base64.urlsafe_b64encode(answer["next_token"].encode()).decode()
            answer["next_token"] = OLD_TOKEN_PREFIX + spelled
            payload = json.dumps(answer).encode()
    return status, out, payload


class StandIns:
    """The EKS handler and the ALB, on the fixture's table in moto. The ALB's target is the
    local chain's service until ``follow`` finds the account's ECS service behind a load
    balancer; from then on it is a process of the task definition that service runs."""

    def __init__(self, moto_url: str, *, region: str, table: str = DEFAULT_TABLE_NAME) -> None:
        self.moto_url = moto_url
        self.region = region
        self.table = table
        self.eks_url = ""
        self.alb_url = ""
        self.internal_url = ""
        self.alb = Front()
        #: The private API: the Query Result Lambda as the account configures it.
        self.internal = Front()
        self._processes: list[Process] = []
        self._spelling: Http | None = None

    def start(self) -> None:
        local = local_env(self.moto_url, self.region)
        table = {**local, "RESULTS_TABLE_NAME": self.table}
        result = _RESULT_HANDLER
        try:
            internal = self._run("internal-api", gateway(result, free_port(), "--stage", "prod"),
                                 table)  # fmt: skip
            invoke = self._run("invoke-api", gateway(result, free_port(), "--invoke",
                                                      _LEGACY_FUNCTION), table)  # fmt: skip
            eks = free_port()
            legacy = self._run("eks-handler", [sys.executable, "-m", "ecs_service"],
                               {**local, "RESULT_SOURCE": "lambda",
                                "QUERY_RESULT_LAMBDA_NAME": _LEGACY_FUNCTION,
                                "AWS_ENDPOINT_URL": invoke.url, "HOST": "127.0.0.1",
                                "PORT": str(eks)}, port=eks)  # fmt: skip
            for process in self._processes:
                process.wait()
            self._processes.remove(internal)  # the internal API's first target, replaced later
            self.internal.replace(Target(LOCAL_CHAIN, internal))
            self.internal.start()
            self.internal_url = self.internal.url
            first = self._task(
                LOCAL_CHAIN, {**local, "INTERNAL_API_URL": f"{self.internal_url}/prod"}
            )
            self.alb.replace(first)
            self.alb.start()
            dynamodb = client("dynamodb", self.moto_url, self.region)
            marketing: Marketing = functools.partial(marketing_answer, dynamodb, self.table)
            self._spelling = Http(lambda *request: _old_spelling(legacy.url, marketing, *request))
            self._spelling.start()
        except BaseException:
            self.stop()
            raise
        self.alb_url = self.alb.url
        self.eks_url = self._spelling.url

    def _run(
        self, name: str, command: list[str], env: Mapping[str, str], port: int | None = None
    ) -> Process:
        if port is None:
            port = int(command[command.index("--port") + 1])
        process = Process(name, command, port, env)
        self._processes.append(process)
        return process

    def _task(self, task_definition: str, env: Mapping[str, str]) -> Target:
        """A task of the ALB's service: the service's process with ``env``, listening."""
        port = free_port()
        env = {**env, "HOST": "127.0.0.1", "PORT": str(port)}
        name = f"alb-task {task_definition.rsplit('/', 1)[-1]}"
        process = Process(name, [sys.executable, "-m", "ecs_service"], port, env)
        process.wait()  # stopped if it never listens
        return Target(task_definition, process)

    def follow(self, lambda_url: str) -> list[str]:
        """The ALB's target made a task of what the account's ECS service runs now (its task
        definition's environment and secrets, the account's hosts rewritten to the stand-ins,
        Lambda at ``lambda_url``): a new task started and the target moved when that changed,
        the old one drained and stopped, as ECS's rolling deployment does. What was done."""
        done = self._follow_internal_api()
        found = _service_task(self.moto_url, self.region)
        current = self.alb.current
        if found is None or (current is not None and current.runs == found[0]):
            return done
        arn, definition = found
        env = task_environment(definition, self.moto_url, self.region, self._in_the_vpc())
        env = {**local_env(self.moto_url, self.region), **env, "AWS_ENDPOINT_URL": lambda_url}
        old = self.alb.replace(self._task(arn, env))
        was = "" if old is None else f" ({old.runs.rsplit('/', 1)[-1]} stopped)"
        return [*done, f"the ALB's target: a task of {arn.rsplit('/', 1)[-1]}{was}"]

    def _follow_internal_api(self) -> list[str]:
        """The internal API's target made the function its integration names, with the
        configuration moto holds for it (its token keys, its accepted events), as API Gateway
        invokes it: a new process when that changed, swapped in as the ALB's tasks are."""
        found = _internal_api(self.moto_url, self.region)
        if found is None:
            return []
        _, handler, config = found
        env = (config.get("Environment") or {}).get("Variables") or {}
        env = {**local_env(self.moto_url, self.region), **rewrite_urls(env, self.hosts())}
        if env.get("ENVIRONMENT") == _PRODUCTION:
            env["ENVIRONMENT"] = AWS_IS_MOTO
        env["AWS_LAMBDA_FUNCTION_NAME"] = str(config["FunctionName"])
        runs = json.dumps([config["FunctionName"], handler, sorted(env.items())])
        current = self.internal.current
        if current is not None and current.runs == runs:
            return []
        port = free_port()
        process = Process(f"internal-api {config['FunctionName']}",
                          gateway(handler, port, "--stage", "prod"), port, env)  # fmt: skip
        process.wait()  # stopped if it never listens
        self.internal.replace(Target(runs, process))
        return [f"the internal API's target: {config['FunctionName']} as configured now"]

    def stop(self) -> None:
        if self._spelling is not None:
            self._spelling.stop()
            self._spelling = None
        self.alb.stop()
        self.internal.stop()
        while self._processes:
            self._processes.pop().stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def hosts(self) -> Callable[[str], str | None]:
        """The fixture's names -> the stand-ins' URLs: the EKS handler's name, every load
        balancer's DNS name moto holds at the time of asking."""
        elbv2 = client("elbv2", self.moto_url, self.region)

        def host(name: str) -> str | None:
            if name == EKS_HOST:
                return self.eks_url
            if name.endswith(".elb.amazonaws.com"):
                balancers = elbv2.describe_load_balancers()["LoadBalancers"]
                # DNS names are case-insensitive (urlsplit lower-cases; moto keeps the case).
                if any(str(b.get("DNSName", "")).lower() == name for b in balancers):
                    return self.alb_url
            return None

        return host

    def _in_the_vpc(self) -> Callable[[str], str | None]:
        """``hosts``, and what only the VPC reaches: the internal API's ``execute-api`` name
        (``_internal_api``), through its VPC endpoint. The ECS tasks get it; the blocks'
        proxy does not (a private API is not reachable from the operator's host)."""
        outside = self.hosts()
        execute_api = f".execute-api.{self.region}.amazonaws.com"

        def host(name: str) -> str | None:
            if name.endswith(execute_api):  # {api-id}[-{vpce-id}].execute-api...
                api_id = name.removesuffix(execute_api).split("-", 1)[0]
                found = _internal_api(self.moto_url, self.region)
                if found is not None and found[0].lower() == api_id:
                    return self.internal_url
            return outside(name)

        return host


def _service_task(moto_url: str, region: str) -> tuple[str, dict[str, Any]] | None:
    """The task definition (ARN, description) the account's ECS service runs now; None when
    it has none. The stack has one service, behind the ALB (moto's CloudFormation model drops
    a service's ``LoadBalancers``, so they cannot tell which)."""
    ecs = client("ecs", moto_url, region)
    for cluster in sorted(ecs.list_clusters()["clusterArns"]):
        arns = sorted(ecs.list_services(cluster=cluster)["serviceArns"])
        if not arns:
            continue
        service = ecs.describe_services(cluster=cluster, services=arns[:1])["services"][0]
        arn = str(service["taskDefinition"])
        found = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        return arn, dict(found)
    return None


def _internal_api(moto_url: str, region: str) -> tuple[str, str, dict[str, Any]] | None:
    """The internal API: the REST API whose Lambda integration invokes the Query Result
    Lambda's handler (what the stand-in runs); its id, that handler and the function's
    configuration (moto's); None without one. Not told by its endpoint type: moto's
    CloudFormation model keeps ``EndpointConfiguration`` in a spelling its API does not
    answer."""
    apigateway = client("apigateway", moto_url, region)
    for api in apigateway.get_rest_apis(limit=500)["items"]:
        for resource in apigateway.get_resources(restApiId=api["id"], limit=500)["items"]:
            for method in resource.get("resourceMethods") or {}:
                uri = apigateway.get_integration(
                    restApiId=api["id"], resourceId=resource["id"], httpMethod=method
                ).get("uri", "")
                match = _FUNCTION_IN_URI.search(uri)
                if match is None:
                    continue
                config = client("lambda", moto_url, region).get_function_configuration(
                    FunctionName=match["function"]
                )
                handler = HANDLERS.get(str(config.get("Handler", "")))
                if handler == _RESULT_HANDLER:
                    return str(api["id"]), handler, dict(config)
    return None


def task_environment(
    definition: Mapping[str, Any], moto_url: str, region: str, hosts: Callable[[str], str | None]
) -> dict[str, str]:
    """What ECS gives the container that listens (the one with a port mapping): its
    environment, its secrets read from Secrets Manager (a ``valueFrom`` ending in a JSON key
    takes that key), the URLs of the account's hosts rewritten to the stand-ins
    (``rewrite_urls``), ``production`` run as ``local`` (AWS is moto here)."""
    containers = definition["containerDefinitions"]
    container = next((c for c in containers if c.get("portMappings")), containers[0])
    env = {str(e["name"]): str(e["value"]) for e in container.get("environment", [])}
    secrets = client("secretsmanager", moto_url, region)
    for secret in container.get("secrets", []):
        # arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[:json-key:stage:version]
        parts = str(secret["valueFrom"]).split(":")
        value = secrets.get_secret_value(SecretId=":".join(parts[:7]))["SecretString"]
        if len(parts) > 7 and parts[7]:
            value = str(json.loads(value)[parts[7]])
        env[str(secret["name"])] = value
    env = rewrite_urls(env, hosts)
    if env.get("ENVIRONMENT") == _PRODUCTION:
        env["ENVIRONMENT"] = AWS_IS_MOTO
    return env
