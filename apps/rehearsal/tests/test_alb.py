"""The ALB's stand-in follows the account's ECS service: its target is a process of the task
definition the service runs, replaced as ECS replaces tasks, with no request dropped.

docs/decisions/0015-runbook-rehearsal.md#the-data-plane
"""

from __future__ import annotations

import http.client
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from query_devstack import EmulatorProcess, RunningAccount, emulator_client, load_account
from rehearsal.dataplane import LambdaDataPlane
from rehearsal.standins import LOCAL_CHAIN, StandIns, task_environment

RESULT_FUNCTION = "QueryService-prod-QueryResultFunction"


@dataclass
class Account:
    moto: str
    account: RunningAccount
    standins: StandIns
    lam: LambdaDataPlane
    cluster: str
    service: str
    private_api: str

    def aws(self, service: str) -> Any:
        return emulator_client(service, self.moto, self.account.region)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambdas/query_result/handler.py", "def handler(event, context): ...\n")
    return buffer.getvalue()


def _definition(account: Account, family: str, env: dict[str, str]) -> str:
    """A task definition of the service's family as the stack's: ``env`` and its secret."""
    secret = account.aws("secretsmanager").create_secret(
        Name=f"{family}-{len(env)}-level", SecretString=json.dumps({"level": "DEBUG"})
    )["ARN"]
    done = account.aws("ecs").register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "service",
                "image": "service:1",
                "portMappings": [{"containerPort": 8080}],
                "environment": [{"name": k, "value": v} for k, v in env.items()],
                "secrets": [{"name": "LOG_LEVEL", "valueFrom": f"{secret}:level::"}],
            }
        ],
    )
    return str(done["taskDefinition"]["taskDefinitionArn"])


@pytest.fixture(scope="module")
def account() -> Iterator[Account]:
    with EmulatorProcess() as moto:
        running = load_account(moto.endpoint_url)
        aws = emulator_client("lambda", moto.endpoint_url, running.region)
        role = emulator_client("iam", moto.endpoint_url, running.region).create_role(
            RoleName="query-result", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        tokens = emulator_client("secretsmanager", moto.endpoint_url, running.region)
        keys = tokens.create_secret(Name="token-keys", SecretString=json.dumps(
            {"id": "k1", "key": "k" * 64}))["ARN"]  # fmt: skip
        function = aws.create_function(
            FunctionName=RESULT_FUNCTION, Runtime="python3.12", Role=role,
            Handler="lambdas.query_result.handler.handler", Code={"ZipFile": _zip()},
            Environment={"Variables": {"RESULTS_TABLE_NAME": running.table,
                                       "NEXT_TOKEN_SECRET_ARN": keys,
                                       "EVENT_SOURCES": "rest_v1,direct"}},
        )["FunctionArn"]  # fmt: skip
        apigw = emulator_client("apigateway", moto.endpoint_url, running.region)
        private = apigw.create_rest_api(
            name="internal", endpointConfiguration={"types": ["PRIVATE"]}
        )
        root = apigw.get_resources(restApiId=private["id"])["items"][0]["id"]
        query = apigw.create_resource(restApiId=private["id"], parentId=root, pathPart="query")
        result = apigw.create_resource(restApiId=private["id"], parentId=query["id"],
                                       pathPart="result")  # fmt: skip
        apigw.put_method(restApiId=private["id"], resourceId=result["id"], httpMethod="POST",
                         authorizationType="AWS_IAM")  # fmt: skip
        apigw.put_integration(
            restApiId=private["id"], resourceId=result["id"], httpMethod="POST", type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{running.region}:lambda:path/2015-03-31/functions/{function}"
            "/invocations",
        )  # fmt: skip
        with StandIns(moto.endpoint_url, region=running.region, table=running.table) as standins:
            lam = LambdaDataPlane(moto.endpoint_url, hosts=standins.hosts(), region=running.region)
            with lam:
                ecs = emulator_client("ecs", moto.endpoint_url, running.region)
                cluster = ecs.create_cluster(clusterName="query")["cluster"]["clusterArn"]
                elbv2 = emulator_client("elbv2", moto.endpoint_url, running.region)
                group = elbv2.create_target_group(Name="tasks", Protocol="HTTP", Port=8080,
                                                  VpcId=running.vpc, TargetType="ip")  # fmt: skip
                found = Account(moto.endpoint_url, running, standins, lam, cluster, "",
                                private["id"])  # fmt: skip
                first = _definition(found, "service", _internal_api(found))
                found.service = ecs.create_service(
                    cluster=cluster, serviceName="service", taskDefinition=first, desiredCount=1,
                    loadBalancers=[{"targetGroupArn": group["TargetGroups"][0]["TargetGroupArn"],
                                    "containerName": "service", "containerPort": 8080}],
                )["service"]["serviceArn"]  # fmt: skip
                yield found


def _internal_api(account: Account) -> dict[str, str]:
    url = (f"https://{account.private_api}-vpce-0123456789abcdef0.execute-api."
           f"{account.account.region}.amazonaws.com/prod/")  # fmt: skip
    return {"ENVIRONMENT": "production", "INTERNAL_API_URL": url, "INTERNAL_API_AUTH": "iam",
            "RESULT_SOURCE": "internal_api", "AWS_REGION": account.account.region}  # fmt: skip


def _answer(url: str, user: str, token: str | None = None) -> tuple[int, dict[str, Any]]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        sent = {"user_id": user, "limit": 5} | ({"next_token": token} if token else {})
        body = json.dumps(sent).encode()
        connection.request("POST", "/query/result", body, {"content-type": "application/json"})
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read() or b"{}")
    finally:
        connection.close()


def found_url(account: Account) -> str:
    return _internal_api(account)["INTERNAL_API_URL"]


def _page(url: str, user: str) -> int:
    return _answer(url, user)[0]


def test_the_task_environment_is_the_definitions_with_the_accounts_hosts_local(account) -> None:
    """Fails without the secret read (its JSON key), the private API's name rewritten to the
    internal stand-in, or ``production`` run as ``local``."""
    arn = _definition(account, "environment", _internal_api(account))
    found = account.aws("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    hosts = account.standins._in_the_vpc()  # what follow() gives the tasks
    env = task_environment(found, account.moto, account.account.region, hosts)
    # The blocks' map has no private API: it is not reachable from the operator's host.
    assert account.standins.hosts()(urlsplit(found_url(account)).hostname or "") is None
    assert env["LOG_LEVEL"] == "DEBUG"
    assert env["INTERNAL_API_URL"] == f"{account.standins.internal_url}/prod/"
    assert env["ENVIRONMENT"] == "local"
    assert env["RESULT_SOURCE"] == "internal_api"


def test_the_alb_follows_the_services_task_definition_without_dropping_a_request(account) -> None:
    """The ALB runs the local chain until ``follow`` finds the service; then a task of its task
    definition; a new revision (``RESULT_SOURCE=lambda``) replaces it under four clients that
    see only 200s, and its requests reach the Query Result Lambda through the Lambda data
    plane (the function's real handler). Fails without ``follow`` reading the account (the
    target stays the local chain, nothing invokes the function), without the environment of
    the new revision reaching the process, or without the old task drained before it stops
    (the clients' requests in flight fail)."""
    alb = account.standins.alb
    assert alb.current is not None
    assert alb.current.runs == LOCAL_CHAIN
    assert _page(account.standins.alb_url, "u-1001") == 200
    first = account.standins.follow(account.lam.url)
    running = account.aws("ecs").describe_services(
        cluster=account.cluster, services=[account.service]
    )["services"][0]["taskDefinition"]
    assert alb.current.runs == running
    assert len(first) == 2  # the internal API's target, then the ALB's
    assert account.standins.follow(account.lam.url) == []  # nothing changed: nothing done
    # The internal API follows its integration: the function as moto configures it.
    assert account.standins.internal.current is not None
    assert RESULT_FUNCTION in account.standins.internal.current.runs
    status, first_page = _answer(account.standins.alb_url, "u-1001")
    assert status == 200
    assert first_page["next_token"].startswith("k1.")  # the function's token keys
    assert not [call for call in account.lam.invoked if call[0] == RESULT_FUNCTION]

    hop = {**_internal_api(account), "RESULT_SOURCE": "lambda",
           "QUERY_RESULT_LAMBDA_NAME": RESULT_FUNCTION}  # fmt: skip
    second = _definition(account, "service", hop)
    account.aws("ecs").update_service(
        cluster=account.cluster, service=account.service, taskDefinition=second
    )
    statuses: list[int] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            statuses.append(_page(account.standins.alb_url, "u-1002"))

    clients = [threading.Thread(target=client) for _ in range(4)]
    for thread in clients:
        thread.start()
    try:
        done = account.standins.follow(account.lam.url)
        after = len(statuses)
        while len(statuses) < after + 8:  # the new task answers too
            threading.Event().wait(0.05)
    finally:
        stop.set()
        for thread in clients:
            thread.join()
    assert done == ["the ALB's target: a task of service:2 (service:1 stopped)"]
    assert alb.current.runs == second
    assert set(statuses) == {200}, statuses
    old, new = alb.targets[-2], alb.targets[-1]
    assert old.requests > 0
    assert new.requests > 0
    assert old.errors == new.errors == 0
    assert old.in_flight == 0
    assert [call for call in account.lam.invoked if call[0] == RESULT_FUNCTION]
    # A page whose token the internal API's path issued is served on the direct path: one
    # function, one set of token keys (the rehearsal found the stand-ins' keys differing).
    status, second_page = _answer(account.standins.alb_url, "u-1001", first_page["next_token"])
    assert status == 200, second_page
