"""smoke against the local chain, with its log files or with CloudWatch Logs (moto) fed by a
shipper that copies the chain's log lines there, as the log drivers do on AWS."""

from __future__ import annotations

import json
import threading
import time

import pytest
from click.testing import CliRunner
from query_core import UnsupportedEventError
from query_core.events import error_response
from query_devstack import MisbehavingServer, Reply, free_port
from query_migrate.cli import cli
from query_migrate.smoke_logs import LOCAL_LOG_FILES


def smoke(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["smoke", *args, "--json"], catch_exceptions=False)
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


def verdicts(report: dict) -> dict[str, str]:
    return {check["name"]: check["verdict"] for check in report["checks"]}


@pytest.mark.usefixtures("fake_aws_credentials")
def test_every_hop_of_the_local_chain(chain) -> None:
    code, report = smoke(
        *chain.hops(),
        "--region",
        "us-east-1",
        "--log-dir",
        str(chain.log_dir),
        "--log-wait",
        "10",
        "--user",
        "u-1001",
    )
    assert code == 0, report
    skipped = {name for name, verdict in verdicts(report).items() if verdict == "skipped"}
    assert skipped == {"alias live"}  # no --alias-arn (test_smoke_identity.py invokes it)
    assert set(verdicts(report).values()) == {"ok", "skipped"}
    assert list(verdicts(report)) == [
        "public: a page",
        "public: /query/marketing is 410",
        "public: a bad body is 422",
        "public: /health is not public",
        "ALB: /health",
        "ALB: a page",
        "private API: a page",
        "alias live",
        "Query Result Lambda: direct invocation",
        "log: query-lambda",
        "log: service",
        "log: query-result-lambda",
    ]
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["public: a page"]["detail"] == "200, 2 item(s), X-Request-Id echoed"
    assert checks["public: a page"]["latency_ms"] > 0
    assert set(LOCAL_LOG_FILES.values()) <= {path.name for path in chain.log_dir.iterdir()}


def test_an_unreachable_hop_is_not_a_failure_and_a_broken_one_is(chain) -> None:
    broken = MisbehavingServer(Reply(status=200, body=b'{"status": "ok"}'))
    with broken:
        code, report = smoke(
            "--public-url",
            broken.url,
            "--alb-url",
            f"http://127.0.0.1:{free_port()}",
            "--log-dir",
            str(chain.log_dir),
            "--log-wait",
            "0",
        )
    assert code == 1
    result = verdicts(report)
    assert result["ALB: /health"] == "skipped"
    assert result["ALB: a page"] == "skipped"
    details = {check["name"]: check["detail"] for check in report["checks"]}
    assert details["ALB: a page"] == "not reachable from here (ConnectError)"
    assert result["public: a page"] == "fail"  # not a page
    assert result["public: /query/marketing is 410"] == "fail"
    assert result["logs"] == "skipped"  # nothing to follow
    assert result["private API"] == "skipped"


def test_the_public_url_unreachable_or_refusing_smokes_credentials_is_a_failure(chain) -> None:
    """Clients call the public URL from anywhere: a connection refused there fails with the
    fix (unlike the ALB's), and so does the authorizer's 401, naming the credentials to send.
    Fails when the public hop is "not reachable from here" (skipped) as the VPC's hops are,
    or when a 401 reads as the service's failure."""
    code, report = smoke("--public-url", f"http://127.0.0.1:{free_port()}", "--log-wait", "0")
    assert code == 1
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["public: a page"]["verdict"] == "fail"
    assert checks["public: a page"]["detail"].startswith("not reachable (ConnectError")
    assert "--public-url" in checks["public: a page"]["fix"]
    refusing = MisbehavingServer(Reply(status=401, body=b'{"message": "Unauthorized"}'))
    with refusing:
        code, report = smoke("--public-url", refusing.url, "--log-wait", "0")
    assert code == 1
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["public: a page"]["detail"] == 'status 401: {"message": "Unauthorized"}'
    assert "-H 'Authorization: <its token>'" in checks["public: a page"]["fix"]
    assert "docs/runbook.md#the-test-identity" in checks["public: a page"]["fix"]


def test_a_hop_the_environments_proxy_cannot_reach_is_not_reachable_from_here(
    monkeypatch,
) -> None:
    """A host only the VPC resolves, behind the operator's HTTPS proxy: the proxy refuses the
    tunnel (502), which is "not reachable from here" for the ALB as a refused connection is,
    and a failure for the public URL. Fails when a proxy's refusal reads as a broken hop."""
    proxy = MisbehavingServer(Reply(status=502, body=b"no route"))
    with proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "")
        code, report = smoke(
            "--public-url", "https://public.example", "--alb-url", "https://alb.internal",
            "--log-wait", "0",
        )  # fmt: skip
    assert code == 1
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["ALB: a page"]["verdict"] == "skipped"
    assert checks["ALB: a page"]["detail"] == "not reachable from here (ProxyError)"
    assert checks["public: a page"]["verdict"] == "fail"
    assert checks["public: a page"]["detail"].startswith("not reachable (ProxyError")
    assert {r.target for r in proxy.requests} == {"public.example:443", "alb.internal:443"}


def test_health_is_not_public_as_either_kind_of_public_api_says_it() -> None:
    """The stack's API: the Query Lambda's 404 behind its {proxy+}, which echoes the request
    id (test_every_hop_of_the_local_chain); an existing API without such a route: API
    Gateway's own 403 ``Missing Authentication Token``, which echoes nothing. A 200 fails, and
    so does a 404 without the echo. Fails when only 404 is accepted (every existing API's
    answer) or when the gateway's own 403 must echo."""
    for status, verdict in ((403, "ok"), (404, "fail"), (200, "fail")):
        server = MisbehavingServer(Reply(status=status, body=b"{}"))
        with server:
            _, report = smoke("--public-url", server.url, "--log-wait", "0")
        checks = {check["name"]: check for check in report["checks"]}
        assert checks["public: /health is not public"]["verdict"] == verdict, (status, report)


def _ship_logs(chain, moto_url: str, groups: dict[str, str], stop: threading.Event) -> None:
    """Copy each hop's new log lines to its CloudWatch log group, like the log drivers."""
    import boto3

    logs = boto3.client("logs", endpoint_url=moto_url, region_name="us-east-1")
    offsets = dict.fromkeys(groups, 0)
    while not stop.is_set():
        for hop, group in groups.items():
            path = chain.log_dir / LOCAL_LOG_FILES[hop]
            data = path.read_bytes()[offsets[hop] :] if path.exists() else b""
            complete = data[: data.rfind(b"\n") + 1]
            offsets[hop] += len(complete)
            lines = [line for line in complete.decode().splitlines() if line]
            if lines:
                now = int(time.time() * 1000)
                logs.put_log_events(
                    logGroupName=group,
                    logStreamName="app",
                    logEvents=[{"timestamp": now, "message": line} for line in lines],
                )
        stop.wait(0.2)


def test_the_request_id_is_found_in_each_cloudwatch_log_group(chain, aws, moto) -> None:
    groups = {hop: f"/query/{hop}" for hop in ("query-lambda", "service", "query-result-lambda")}
    for group in groups.values():
        aws("logs").create_log_group(logGroupName=group)
        aws("logs").create_log_stream(logGroupName=group, logStreamName="app")
    # The service's lines are not shipped: smoke must say the request was not seen there.
    shipped = {hop: group for hop, group in groups.items() if hop != "service"}
    stop = threading.Event()
    shipper = threading.Thread(target=_ship_logs, args=(chain, moto, shipped, stop))
    shipper.start()
    try:
        code, report = smoke(
            "--public-url",
            chain.external,
            "--endpoint-url",
            moto,
            "--log-groups",
            ",".join(f"{hop}={group}" for hop, group in groups.items())
            + ",internal-api=/query/access",
            "--log-wait",
            "3",
            "--user",
            "u-1002",
        )
    finally:
        stop.set()
        shipper.join()
    assert code == 1
    result = verdicts(report)
    assert result["log: query-lambda"] == "ok"
    assert result["log: query-result-lambda"] == "ok"
    assert result["log: service"] == "fail"
    checks = {check["name"]: check for check in report["checks"]}
    assert "CloudWatch Logs" in checks["log: query-lambda"]["detail"]
    assert checks["log: service"]["fix"]


def test_the_existing_public_apis_url_comes_from_the_context() -> None:
    from query_migrate._aws import Aws
    from query_migrate._inputs import parse_context
    from query_migrate.smoke import existing_api_url

    aws = Aws(region="ap-northeast-1")
    context = parse_context(None, ("existingPublicApiId=a1b2c3d4e5", "existingPublicApiStage=v1"))
    assert existing_api_url(context, aws) == (
        "https://a1b2c3d4e5.execute-api.ap-northeast-1.amazonaws.com/v1"
    )
    assert existing_api_url(parse_context(None, ()), aws) is None


def test_a_public_api_with_iam_auth_gets_signed_requests(run, stack) -> None:
    """PublicApiAuth=iam (the stack's default): smoke signs its public requests (SigV4)."""
    with MisbehavingServer(Reply(status=403, body=b'{"message": "Forbidden"}')) as api:
        stack("QueryService-iam", {"PublicApiUrl": api.url, "PublicApiAuth": "iam"})
        report = run.json("smoke", "--stack", "QueryService-iam", "--log-wait", "0", code=1)
        signed = [r.headers.get("authorization", "") for r in api.requests]
    assert signed
    assert all(value.startswith("AWS4-HMAC-SHA256 Credential=testing/") for value in signed)
    assert all("/execute-api/aws4_request" in value for value in signed)
    assert verdicts(report)["public: a page"] == "fail"


@pytest.mark.usefixtures("fake_aws_credentials")
def test_the_direct_door_is_open_only_with_the_rollback_source(chain) -> None:
    """Without enableLambdaRollbackSource a direct invocation must be refused: the chain's
    function (which serves the rollback path) answering it is a finding, a 4xx is the pass."""
    direct = ("--query-result-lambda", "query_result_lambda", "--region", "us-east-1")
    code, report = smoke(*direct, "--endpoint-url", chain.invoke, "--log-wait", "0")
    found = {check["name"]: check for check in report["checks"]}[
        "Query Result Lambda: direct invocation"
    ]
    assert code == 1
    assert "without enableLambdaRollbackSource" in found["detail"]
    assert "EVENT_SOURCES=rest_v1" in found["fix"]
    # The function's own answer without "direct" in EVENT_SOURCES (production's default).
    refusal = error_response(UnsupportedEventError(), "smoke-invoke")
    with MisbehavingServer(Reply(status=200, body=json.dumps(refusal).encode())) as invoke:
        code, report = smoke(*direct, "--endpoint-url", invoke.url, "--log-wait", "0")
    assert code == 0, report
    assert verdicts(report)["Query Result Lambda: direct invocation"] == "ok"
    # Its resource policy denies Invoke to all but the task role (docs/security.md#side-doors).
    denied = Reply(
        status=403,
        body=b'{"Type": "User", "message": "explicit deny in a resource-based policy"}',
        headers={"x-amzn-errortype": "AccessDeniedException"},
    )
    with MisbehavingServer(denied) as invoke:
        args = (*direct, "--endpoint-url", invoke.url, "--log-wait", "0")
        assert verdicts(smoke(*args)[1])["Query Result Lambda: direct invocation"] == "ok"
        opened = smoke(*args, "-c", "enableLambdaRollbackSource=true")[1]
    found = {check["name"]: check for check in opened["checks"]}
    assert found["Query Result Lambda: direct invocation"]["verdict"] == "skipped"
    assert "only the task role" in found["Query Result Lambda: direct invocation"]["detail"]
