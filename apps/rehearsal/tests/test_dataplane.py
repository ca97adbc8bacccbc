"""The data plane follows moto's control plane: real handlers, real stand-ins, moto's server.

docs/decisions/0015-runbook-rehearsal.md#the-data-plane
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from query_devstack import (
    EmulatorProcess,
    MisbehavingServer,
    RecordedRequest,
    Reply,
    RunningAccount,
    load_account,
    port_is_free,
)
from rehearsal._local import post
from rehearsal.dataplane import LambdaDataPlane, RestApiDataPlane, rewrite_urls
from rehearsal.proxy import HostProxy
from rehearsal.stage import block_environment
from rehearsal.standins import EKS_HOST, StandIns
from rehearsal.watch import Watcher, table_contents


def _client(service: str, url: str) -> Any:
    make: Any = boto3.client
    return make(service, endpoint_url=url, region_name="us-east-1",
                aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip


@dataclass
class Plane:
    moto: str
    account: RunningAccount
    standins: StandIns
    lam: LambdaDataPlane
    public: RestApiDataPlane


@pytest.fixture(scope="module")
def plane() -> Iterator[Plane]:
    with EmulatorProcess() as moto:
        account = load_account(moto.endpoint_url)
        with StandIns(moto.endpoint_url, region=account.region, table=account.table) as standins:
            lam = LambdaDataPlane(moto.endpoint_url, hosts=standins.hosts(),
                                  region=account.region, rng=random.Random(3))  # fmt: skip
            public = RestApiDataPlane(moto.endpoint_url, lam.url, api_id=account.api_id,
                                      users=account.users, region=account.region)  # fmt: skip
            with lam, public:
                yield Plane(moto.endpoint_url, account, standins, lam, public)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambdas/query/handler.py", "def handler(event, context): ...\n")
    return buffer.getvalue()


def _new_query_lambda(plane: Plane, name: str, *, split: bool) -> str:
    """The stack's Query Lambda as the canary leaves it: version 1 to the EKS handler, version
    2 to the ALB, alias ``live`` on 1 with half the invocations to 2; with ``split``, both
    versions also name both sides (SERVICE_URL, OLD_EKS_HANDLER_URL: decision 11), as the
    stack's versions do while the old handler serves. Returns the alias ARN."""
    lam = _client("lambda", plane.moto)
    elbv2 = _client("elbv2", plane.moto)
    balancer = elbv2.create_load_balancer(Name=f"{name}-alb", Subnets=plane.account.subnets,
                                          Scheme="internal", Type="application")  # fmt: skip
    alb = f"http://{balancer['LoadBalancers'][0]['DNSName']}"
    eks = f"http://{EKS_HOST}:8080/"
    both = {"SERVICE_URL": alb, "OLD_EKS_HANDLER_URL": eks} if split else {}
    role = _client("iam", plane.moto).create_role(RoleName=name, AssumeRolePolicyDocument="{}")
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=role["Role"]["Arn"],
                        Handler="lambdas.query.handler.handler", Code={"ZipFile": _zip()},
                        Environment={"Variables": {"EKS_HANDLER_URL": eks, **both}})  # fmt: skip
    lam.publish_version(FunctionName=name)
    lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"EKS_HANDLER_URL": alb, **both}}
    )
    lam.publish_version(FunctionName=name)
    alias = lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1",
                             RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})  # fmt: skip
    return str(alias["AliasArn"])


def _point_integration(plane: Plane, function_arn: str) -> None:
    """What ``attach``/``detach`` do to ``POST /query/result``: its integration's uri."""
    apigw = _client("apigateway", plane.moto)
    api = plane.account.api_id
    resource = next(r for r in apigw.get_resources(restApiId=api)["items"]
                    if r["path"] == "/query/result")  # fmt: skip
    uri = (f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}"
           "/invocations")  # fmt: skip
    apigw.put_integration(restApiId=api, resourceId=resource["id"], httpMethod="POST",
                          type="AWS_PROXY", integrationHttpMethod="POST", uri=uri)  # fmt: skip


def _watch_one_pass(plane: Plane) -> Watcher:
    users = plane.account.users
    expected = table_contents(plane.moto, plane.account.table, users)
    watcher = Watcher(plane.public.url, expected, pause=0)
    watcher.mark("0")
    for user in users:
        watcher.page_through(user)
    return watcher


def test_the_old_path_serves_every_page_through_the_fixtures_integration(plane: Plane) -> None:
    """Fails without the public front following GetIntegration to the old Query Lambda, its
    EKS_HANDLER_URL rewritten to the EKS stand-in, or the watcher's checks."""
    plane.lam.invoked.clear()
    watcher = _watch_one_pass(plane)
    assert watcher.problems == []
    assert watcher.figures["0"].requests >= 4 * 2  # 45 items a user: more than one page each
    assert {call[0] for call in plane.lam.invoked} == {"old-query-lambda"}


def test_the_alias_weights_split_real_traffic_between_eks_and_the_alb(plane: Plane) -> None:
    """Fails without the alias resolved per invocation (RoutingConfig weights), each version
    run with its own environment, or the ALB's DNS name mapped to the ALB's stand-in (version
    2's requests would fail: 502 in the watcher)."""
    alias = _new_query_lambda(plane, "QueryService-prod-QueryLambda", split=True)
    _point_integration(plane, alias)
    plane.lam.invoked.clear()
    watcher = _watch_one_pass(plane)
    assert watcher.problems == []
    versions = [version for function, version in plane.lam.invoked]
    assert {function for function, _ in plane.lam.invoked} == {"QueryService-prod-QueryLambda"}
    assert set(versions) == {"1", "2"}
    # detach: the integration back to the old Query Lambda moves the traffic back.
    _point_integration(plane, plane.account.old_function_arn)
    plane.lam.invoked.clear()
    assert _watch_one_pass(plane).problems == []
    assert {call[0] for call in plane.lam.invoked} == {"old-query-lambda"}


def test_a_token_refused_across_paths_fails_the_watcher_naming_the_step(plane: Plane) -> None:
    """The break of issue 19: the canary's versions without the token split (decision 11).
    A page whose token one side issued lands on the other, which refuses it (400), and the
    watcher names the step. Fails if the stand-ins accepted each other's tokens (the EKS
    stand-in's own spelling) or if the watcher missed the 400s."""
    alias = _new_query_lambda(plane, "QueryLambdaWithoutSplit", split=False)
    _point_integration(plane, alias)
    try:
        watcher = _watch_one_pass(plane)
    finally:
        _point_integration(plane, plane.account.old_function_arn)
    _, _, problems = watcher.summary(["Canary: 50 % to the ALB"])
    assert problems
    assert all(p.startswith("step 'Canary: 50 % to the ALB': u-") for p in problems)
    assert any("HTTP 400" in p and "next_token is malformed" in p for p in problems)


def test_invoke_of_the_alias_runs_the_real_handler(plane: Plane) -> None:
    """Fails when Invoke of a known function is moto's (Docker) instead of the real handler:
    a direct invoke is the handler's own 403 (not from its public API), not moto's error."""
    lam = _client("lambda", plane.lam.url)
    answer = lam.invoke(FunctionName="old-query-lambda", Payload=json.dumps({"user_id": "u-1001"}))
    assert answer["StatusCode"] == 200
    assert answer["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read())  # the handler's answer, whatever its shape


def test_stopping_the_front_stops_every_worker(plane: Plane) -> None:
    """Fails when a worker outlives the front that started it."""
    with LambdaDataPlane(plane.moto, hosts=plane.standins.hosts()) as lam:
        _client("lambda", lam.url).invoke(FunctionName="old-query-lambda", Payload=b"{}")
        ports = lam.worker_ports
        assert len(ports) == 1
        assert not port_is_free(ports[0])
    assert lam.worker_ports == []
    assert port_is_free(ports[0])


def test_calls_other_than_invoke_reach_moto(plane: Plane) -> None:
    lam = _client("lambda", plane.lam.url)
    assert "old-query-lambda" in [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert lam.get_account_settings()["AccountLimit"]["ConcurrentExecutions"] == 1000


def test_unknown_user_is_401_and_unknown_path_403(plane: Plane) -> None:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(plane.public.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    connection.request("POST", "/prod/query/result", b"{}", {"authorization": "u-9999"})
    assert connection.getresponse().status == 401
    connection.close()
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    connection.request("POST", "/prod/nowhere", b"{}", {"authorization": "u-1001"})
    assert connection.getresponse().status == 403
    connection.close()


def _send(plane: Plane, method: str, path: str, user: str) -> tuple[int, dict[str, str], bytes]:
    headers = {"authorization": user, "user-agent": "the-test/1"}
    return post(plane.public.url, path, b'{"user_id": "u-1001"}', headers, method)


def _lines(plane: Plane, stage: str) -> list[str]:
    logs = _client("logs", plane.moto)
    group = plane.account.access_logs[stage]
    return [event["message"] for event in logs.filter_log_events(logGroupName=group)["events"]]


def test_each_request_is_a_line_of_the_stages_access_log_in_its_format(plane: Plane) -> None:
    """Fails without the front's access log: each request (served, 401 or 403 alike) is one
    line in the group of stage prod's accessLogSettings, its $context variables resolved;
    a format changed with UpdateStage applies from the next request, an unknown variable is
    ``-``; staging's log (a stage this front does not serve) gets none."""
    before = len(_lines(plane, "prod"))
    status, headers, body = _send(plane, "POST", "/prod/query/marketing/x?a=1", "u-1002")
    refused, _, _ = _send(plane, "POST", "/prod/query/marketing", "u-9999")
    nowhere, _, _ = _send(plane, "GET", "/prod/nowhere", "u-1001")
    lines = [json.loads(line) for line in _lines(plane, "prod")[before:]]
    assert [line["status"] for line in lines] == [str(status), str(refused), str(nowhere)]
    served = lines[0]
    assert served["requestId"] == headers["x-amzn-requestid"]
    assert served["resourcePath"] == "/query/marketing/{proxy+}"
    assert (served["httpMethod"], served["sub"], served["protocol"]) == ("POST", "u-1002",
                                                                         "HTTP/1.1")  # fmt: skip
    assert served["responseLength"] == str(len(body))
    assert served["ip"] == "127.0.0.1"
    assert served["caller"] == served["user"] == "-"  # IAM's: a Cognito authorizer has none
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", served["requestTime"])
    assert (refused, lines[1]["resourcePath"], lines[1]["sub"]) == (401, "/query/marketing", "-")
    assert (nowhere, lines[2]["resourcePath"]) == (403, "-")
    assert _lines(plane, "staging") == []
    assert plane.public.access_log.undelivered == []

    apigateway = _client("apigateway", plane.moto)
    api, stage = plane.account.api_id, "prod"
    kept = apigateway.get_stage(restApiId=api, stageName=stage)["accessLogSettings"]["format"]
    common = ("$context.identity.sourceIp - $context.identity.caller [$context.requestTime] "
              '"$context.httpMethod $context.path $context.protocol" $context.status '
              "$context.responseLength $context.requestId "
              "$context.integrationLatency.")  # fmt: skip
    op = {"op": "replace", "path": "/accessLogSettings/format"}
    apigateway.update_stage(restApiId=api, stageName=stage,
                            patchOperations=[op | {"value": common}])  # fmt: skip
    try:
        status, headers, _ = _send(plane, "POST", "/prod/query/marketing", "u-1001")
    finally:
        apigateway.update_stage(restApiId=api, stageName=stage,
                                patchOperations=[op | {"value": kept}])  # fmt: skip
    line = _lines(plane, "prod")[-1]
    assert re.fullmatch(
        rf'127\.0\.0\.1 - - \[[^]]+\] "POST /prod/query/marketing HTTP/1\.1" {status} \d+ '
        rf"{headers['x-amzn-requestid']} -\.",
        line,
    ), line


#: A block's two kinds of client in one process: boto3 (to the emulated APIs on 127.0.0.1)
#: and a plain HTTP client (urllib, as httpx does, follows the environment's proxy) to the URL
#: of the account's EKS handler and to a host the account does not have.
_BLOCK_CLIENT = """
import json, sys, urllib.error, urllib.request
import boto3
print(len(boto3.client("lambda").list_functions()["Functions"]) > 0)
for url in sys.argv[1:]:
    request = urllib.request.Request(url, json.dumps({"user_id": "u-1001", "limit": 2}).encode(),
                                     {"content-type": "application/json"})
    try:
        print(json.dumps(json.load(urllib.request.urlopen(request, timeout=30))))
    except urllib.error.HTTPError as exc:
        print(exc.code, exc.read().decode())
    except urllib.error.URLError as exc:
        print("refused", exc.reason)
"""


def test_the_blocks_reach_the_accounts_hosts_through_the_proxy(plane: Plane, tmp_path) -> None:
    """The blocks' environment: the EKS handler's name (which resolves nowhere) answers as the
    EKS stand-in, through ``http_proxy``, and over HTTPS through ``https_proxy``'s tunnel,
    whose certificate the blocks' client checks against the proxy's CA (``SSL_CERT_FILE``);
    a name the account lacks is a 502 naming it, and gets no tunnel; the emulated APIs on
    127.0.0.1 are not proxied. Fails without the proxy (a name error), without ``http_proxy``
    or ``https_proxy`` in the environment, without ``CONNECT`` (501), without the CA trusted
    (a certificate error), or without 127.0.0.1 in ``no_proxy`` (boto3's calls would reach
    the proxy, 502)."""
    with HostProxy(plane.standins.hosts(), tmp_path) as proxy:
        env = block_environment({"PATH": os.environ["PATH"]}, endpoint_url=plane.moto,
                                lambda_url=plane.lam.url, region=plane.account.region,
                                http_proxy=proxy.url, ca_file=proxy.ca_file)  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-c", _BLOCK_CLIENT, f"http://{EKS_HOST}:8080/query/result",
             "http://nowhere.internal/query/result", f"https://{EKS_HOST}/query/result",
             "https://nowhere.internal/query/result"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        listed, eks, nowhere, eks_tls, nowhere_tls = done.stdout.splitlines()
        assert listed == "True"
        for answer in (eks, eks_tls):
            page = json.loads(answer)
            assert page["user_id"] == "u-1001"
            assert page["count"] == 2
            assert page["next_token"].startswith("eks-")  # the EKS stand-in's spelling
        assert nowhere.startswith("502 ")
        assert "no stand-in for 'nowhere.internal'" in nowhere
        assert nowhere_tls.startswith("refused Tunnel connection failed: 502")
        assert proxy.forwarded == [(EKS_HOST, "/query/result")] * 2
        untrusted = {k: v for k, v in env.items() if k != "SSL_CERT_FILE"}
        done = subprocess.run(
            [sys.executable, "-c", _BLOCK_CLIENT, f"https://{EKS_HOST}/query/result"],
            env=untrusted, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert "CERTIFICATE_VERIFY_FAILED" in done.stdout, done.stdout + done.stderr
        # curl (the runbook's check after retire-marketing) trusts it through CURL_CA_BUNDLE.
        curl = [
            "curl",
            "-sS",
            "-X",
            "POST",
            "-d",
            '{"user_id": "u-1001", "limit": 2}',
            "-H",
            "content-type: application/json",
            f"https://{EKS_HOST}/query/result",
        ]
        done = subprocess.run(curl, env=env, capture_output=True, text=True, timeout=60,
                              check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["count"] == 2


def test_rewrite_urls_maps_only_the_fixtures_hosts() -> None:
    def hosts(name: str) -> str | None:
        return "http://127.0.0.1:9" if name == EKS_HOST else None

    env = {"EKS_HANDLER_URL": f"http://{EKS_HOST}:8080/v1?x=1", "OTHER": "https://example.com/",
           "LOG_LEVEL": "INFO"}  # fmt: skip
    assert rewrite_urls(env, hosts) == {**env, "EKS_HANDLER_URL": "http://127.0.0.1:9/v1?x=1"}


def _page(items: list[str], token: str | None) -> Reply:
    body = {"items": [{"result_id": i} for i in items], "next_token": token}
    return Reply(body=json.dumps(body).encode())


def test_the_watcher_names_the_step_of_a_non_2xx_answer() -> None:
    """Fails without the watcher counting errors in the phase marked when they happened."""
    with MisbehavingServer(Reply(status=502, body=b'{"message":"Internal server error"}')) as api:
        watcher = Watcher(f"{api.url}/prod", {"u-1001": ["a"]}, pause=0)
        watcher.mark("1")
        watcher.page_through("u-1001")
    watched, _, problems = watcher.summary(["Deploy 0: first", "Attach: move the traffic"])
    assert problems == ["step 'Attach: move the traffic': u-1001: HTTP 502 "
                        "{'text': b'{\"message\":\"Internal server error\"}'}"]  # fmt: skip
    assert watched[1].startswith("1 req, 1 err")


def test_the_watcher_finds_duplicated_and_missing_items_across_pages() -> None:
    """Fails without the per-pass comparison with the table's content."""
    pages = iter([_page(["a", "b"], "t1"), _page(["b"], None)])

    def reply(request: RecordedRequest) -> Reply:
        return next(pages)

    with MisbehavingServer(reply) as api:
        watcher = Watcher(f"{api.url}/prod", {"u-1001": ["a", "b", "c"]}, pause=0)
        watcher.mark("0")
        watcher.page_through("u-1001")
    assert [p.what for p in watcher.problems] == [
        "u-1001: 1 duplicated, 1 missing in one pass (e.g. ['b', 'c'])"
    ]
