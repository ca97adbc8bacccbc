"""Each phase of the runbook built in moto, and the step's command run as the runbook writes
it: exit 0 on a correct account, a ✗ naming its fix on a wrong one."""

from __future__ import annotations

import json
from collections.abc import Callable

from query_devstack import MisbehavingServer, RecordedRequest, Reply

PREFLIGHT = ["preflight", "--stack", "QueryService-prod", "--context-file"]


def _preflight(run, cutover, code: int = 0) -> dict:
    return run.json(*PREFLIGHT, str(cutover.context), code=code)


def _checks(report: dict) -> dict[str, dict]:
    return {check["name"]: check for check in report["checks"]}


def test_before_the_first_deploy(run_limits, cutover) -> None:
    report = _preflight(run_limits, cutover)
    assert report["phase"] == "no stack"
    checks = _checks(report)
    assert checks["phase"]["detail"].startswith("no stack: ")
    assert checks["EKS admits the Query Lambda"]["verdict"] == "skipped"
    concurrency = checks["Lambda concurrency free"]
    assert concurrency["verdict"] == "ok"
    assert concurrency["detail"].startswith("1000 of 1000 unreserved")
    assert "(100 more): 900 left" in concurrency["detail"]


def test_too_little_free_concurrency_names_its_fix(run_limits, limits, cutover) -> None:
    limits.quota = 150
    report = _preflight(run_limits, cutover, code=1)
    check = _checks(report)["Lambda concurrency free"]
    assert check["verdict"] == "fail"
    assert "below AWS's floor of 100" in check["detail"]
    assert check["fix"].startswith("lower reservedConcurrency to 25 in the context")
    cutover.write(reservedConcurrency=25)  # the fix, as the check says
    assert _checks(_preflight(run_limits, cutover))["Lambda concurrency free"]["verdict"] == "ok"


def test_deployed_with_the_eks_target(run_limits, cutover) -> None:
    cutover.deploy_eks()
    report = _preflight(run_limits, cutover)
    assert report["phase"] == "deployed (eks)"
    checks = _checks(report)
    assert checks["Query Lambda -> target"]["verdict"] == "ok"
    ingress = checks["EKS admits the Query Lambda"]
    assert ingress["detail"] == (
        f"{cutover.account.eks_sg} admits {cutover.account.lambda_sg} on 80"
    )
    # Both functions already hold their 50: nothing more to reserve.
    assert "(0 more): 900 left" in checks["Lambda concurrency free"]["detail"]


def test_missing_ingress_on_the_eks_side_names_its_fix(run_limits, cutover) -> None:
    cutover.deploy_eks(ingress=False)
    report = _preflight(run_limits, cutover, code=1)
    check = _checks(report)["EKS admits the Query Lambda"]
    assert check["verdict"] == "fail"
    eks, own = cutover.account.eks_sg, cutover.account.lambda_sg
    assert check["fix"] == (
        f"on the EKS side: aws ec2 authorize-security-group-ingress --group-id {eks} "
        f"--protocol tcp --port 80 --source-group {own}"
    )
    cutover.admit_on_eks()
    assert _preflight(run_limits, cutover)["ok"] is True


def test_attached(run_limits, cutover) -> None:
    cutover.deploy_eks()
    cutover.attach()
    report = _preflight(run_limits, cutover)
    assert report["phase"] == "attached"
    assert "already attached" in _checks(report)["existing public API"]["detail"]


def test_attached_while_marketing_waits_for_its_own_step(run_limits, cutover) -> None:
    """attach leaves /query/marketing on the old Query Lambda (retire-marketing's step): the
    phase is attached all the same, as the runbook says after attach."""
    cutover.deploy_eks()
    cutover.attach(marketing=False)
    report = _preflight(run_limits, cutover)
    assert report["phase"] == "attached"
    assert _checks(report)["phase"]["detail"].startswith("attached: ")


def test_before_the_traffic_deploy_the_alb_is_checked_on_its_port(run_limits, cutover) -> None:
    """Switch 2's preflight: trafficTarget=ecs is in the file, live still calls EKS (here on
    8080): the Query Lambda's reach to the ALB is checked on the ALB's port, not EKS's."""
    cutover.deploy_eks()
    cutover.attach()
    version = cutover._version("http://query-handler.eks.internal:8080")
    cutover.aws("lambda").update_alias(
        FunctionName="query-lambda", Name="live", FunctionVersion=version
    )
    cutover.write(trafficTarget="ecs")
    check = _checks(_preflight(run_limits, cutover))["Query Lambda -> target"]
    assert check["verdict"] == "ok"
    assert check["detail"].endswith(":80)")


def test_canary(run_limits, cutover) -> None:
    cutover.deploy_eks()
    cutover.attach()
    cutover.canary()
    report = _preflight(run_limits, cutover)
    assert report["phase"] == "canary"
    assert _checks(report)["EKS admits the Query Lambda"]["verdict"] == "ok"  # rollback


def test_moving_traffic_before_attach_names_its_fix(run_limits, cutover) -> None:
    cutover.deploy_eks()
    cutover.canary()
    report = _preflight(run_limits, cutover, code=1)
    assert report["phase"] == "canary"
    check = _checks(report)["public API attached"]
    assert check["verdict"] == "fail"
    assert "attach" in check["fix"]


def test_ecs_at_100_percent_keeps_eks_for_a_rollback(run_limits, cutover) -> None:
    cutover.deploy_eks()
    cutover.attach()
    cutover.ecs()
    report = _preflight(run_limits, cutover)
    assert report["phase"] == "ecs"
    assert _checks(report)["EKS admits the Query Lambda"]["verdict"] == "ok"


def test_eks_gone(run_limits, cutover) -> None:
    cutover.deploy_eks()
    cutover.attach()
    cutover.ecs()
    cutover.close_eks_egress()
    report = _preflight(run_limits, cutover)
    assert report["phase"] == "eks gone"
    checks = _checks(report)
    assert checks["EKS admits the Query Lambda"]["verdict"] == "skipped"
    assert checks["Query Lambda -> target"]["verdict"] == "ok"


def _status(run, cutover, code: int = 0) -> dict:
    args = ["status", "--stack", "QueryService-prod", "--context-file", str(cutover.context)]
    return run.json(*args, code=code)


def test_status_prints_the_phase_at_each_step(run_limits, cutover) -> None:
    assert _status(run_limits, cutover)["phase"] == "no stack"
    cutover.deploy_eks()
    assert _status(run_limits, cutover)["phase"] == "deployed (eks)"
    cutover.attach()
    assert _status(run_limits, cutover)["phase"] == "attached"
    cutover.canary()
    report = _status(run_limits, cutover)
    assert report["phase"] == "canary"
    assert report["problems"] == []
    table = run_limits(
        "status", "--stack", "QueryService-prod", "--context-file", str(cutover.context)
    )
    assert table.exit_code == 0
    assert table.stdout.startswith("phase canary: alias live is moving between EKS and ECS")


def test_status_refuses_a_canary_that_clients_cannot_reach(run_limits, cutover) -> None:
    cutover.deploy_eks()
    cutover.canary()  # no attach: the public API still invokes the old Query Lambda
    report = _status(run_limits, cutover, code=1)
    assert report["phase"] == "canary"
    assert "run query-migrate attach" in report["problems"][0]


def _old_path(marketing: int) -> Callable[[RecordedRequest], Reply]:
    """The public API before attach, as a client sees it: the old Query Lambda via EKS."""

    def reply(request: RecordedRequest) -> Reply:
        headers = {
            "content-type": "application/json",
            "x-request-id": request.headers.get("x-request-id", ""),
        }
        body = json.loads(request.body or b"{}")
        if request.target.startswith("/query/marketing"):
            return Reply(status=marketing, body=b'{"items": []}', headers=headers)
        if request.target != "/query/result":
            return Reply(status=404, body=b'{"detail": "Not Found"}', headers=headers)
        if set(body) - {"user_id", "limit", "next_token"}:
            return Reply(status=422, body=b'{"detail": "unknown field"}', headers=headers)
        page = {"user_id": body["user_id"], "items": [], "count": 0}
        return Reply(body=json.dumps(page).encode(), headers=headers)

    return reply


def _smoke(run, cutover, public_url: str, code: int) -> dict:
    """smoke as the runbook writes it (the stack's outputs, the context file), the public URL
    given: the existing API's own URL is not served here."""
    report = run.json(
        "smoke",
        "--stack",
        "QueryService-prod",
        "--context-file",
        str(cutover.context),
        "--public-url",
        public_url,
        "--public-auth",
        "none",
        "--log-wait",
        "0",
        code=code,
    )
    return report


def test_smoke_before_attach_expects_the_old_path(run_limits, cutover) -> None:
    cutover.deploy_eks(outputs={"QueryResultFunctionName": None})
    with MisbehavingServer(_old_path(marketing=200)) as old:
        report = _smoke(run_limits, cutover, old.url, code=0)
    checks = _checks(report)
    assert checks["phase"]["detail"].startswith("deployed (eks): ")
    assert checks["public: /query/marketing still served"]["verdict"] == "ok"
    assert checks["logs"]["detail"] == (
        "phase deployed (eks): the public URL reaches the old Query Lambda"
    )
    with MisbehavingServer(_old_path(marketing=502)) as broken:
        report = _smoke(run_limits, cutover, broken.url, code=1)
    assert _checks(report)["public: /query/marketing still served"]["detail"] == "status 502"


def test_smoke_once_attached_expects_410_from_the_alias(run_limits, cutover) -> None:
    cutover.deploy_eks(outputs={"QueryResultFunctionName": None})
    cutover.attach()
    with MisbehavingServer(_old_path(marketing=200)) as still_old:
        report = _smoke(run_limits, cutover, still_old.url, code=1)
    checks = _checks(report)
    assert checks["phase"]["detail"].startswith("attached: ")
    assert checks["public: /query/marketing is 410"]["detail"] == "status 200"


def test_a_command_that_needs_the_stack_says_it_does_not_exist(run, cutover) -> None:
    args = ["attach", "--stack", "QueryService-prod", "--context-file", str(cutover.context)]
    result = run(*args, "--dry-run")
    assert result.exit_code == 2
    assert "stack QueryService-prod does not exist in this region" in result.stderr
