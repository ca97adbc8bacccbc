"""preflight against an account built in moto's server (DynamoDB, EC2, Lambda, ELBv2, ECS...)."""

from __future__ import annotations

import json

import pytest

CONTEXT = ["-c", 'existingVpcEndpoints=["ecr.api","logs"]', "-c", "executeApiPrivateDns=false"]


@pytest.fixture
def run(run_limits):
    """preflight against moto through the front that answers Lambda's GetAccountSettings."""
    return run_limits


def _verdicts(report) -> dict[str, str]:
    return {check["name"]: check["verdict"] for check in report["checks"]}


def test_a_ready_account_passes_every_check(run, account, make_api) -> None:
    api = make_api()
    report = run.json(
        "preflight",
        *account.options(),
        *CONTEXT,
        "--api-id",
        api.api_id,
        "--alias-arn",
        api.alias_arn,
    )
    assert report["ok"] is True
    verdicts = _verdicts(report)
    assert verdicts.pop("EKS admits the Query Lambda") == "skipped"  # EKS is no longer reached
    assert set(verdicts.values()) == {"ok"}, report
    assert list(verdicts) == [
        "phase",
        "results table",
        "marketing_id-index",
        "endpoint ecr.api",
        "endpoint ecr.dkr",
        "endpoint logs",
        "endpoint s3",
        "endpoint execute-api",
        "Query Lambda -> target",
        "ECS service steady",
        "ALB targets healthy",
        "alarms in OK",
        "existing public API",
        "existing API auth",
        "Lambda concurrency free",
    ]
    detail = {check["name"]: check["detail"] for check in report["checks"]}
    # alias live calls the ALB, and the Query Lambda's group reaches nothing else.
    assert detail["phase"].startswith("eks gone: ")
    assert detail["endpoint execute-api"] == "the stack creates its own, private DNS off"
    assert detail["endpoint logs"] == "the VPC's own (private DNS on), reused"
    assert detail["endpoint ecr.dkr"] == "missing; the stack creates it"
    assert detail["ALB targets healthy"] == "2/2 healthy"
    assert "3 Lambda proxy integration(s)" in detail["existing public API"]
    assert detail["existing API auth"] == (
        "POST /query/result: AWS_IAM; ANY /query/marketing: AWS_IAM; "
        "ANY /query/marketing/{proxy+}: AWS_IAM"
    )


def test_an_open_method_fails_unless_allowed(run, account, make_api, moto) -> None:
    api = make_api()
    api.set_auth(moto, "/query/result", "POST", "NONE")
    args = (*account.options(), *CONTEXT, "--api-id", api.api_id, "--alias-arn", api.alias_arn)
    report = run.json("preflight", *args, code=1)
    check = {c["name"]: c for c in report["checks"]}["existing API auth"]
    assert check["verdict"] == "fail"
    assert "POST /query/result: NONE" in check["detail"]
    assert "--allow-unauthenticated" in check["fix"]
    allowed = run.json("preflight", *args, "--allow-unauthenticated")
    check = {c["name"]: c for c in allowed["checks"]}["existing API auth"]
    assert check["verdict"] == "ok"


def test_the_table_prints_a_fix_for_every_failure(run, account, aws) -> None:
    aws("cloudwatch").set_alarm_state(AlarmName="query-5xx", StateValue="ALARM", StateReason="t")
    result = run("preflight", *account.options())  # no context: endpoints are undeclared
    assert result.exit_code == 1
    out = result.stdout
    assert "✗" in out
    assert "✓" in out
    assert 'add "ecr.api" to existingVpcEndpoints' in out
    assert "query-5xx: ALARM" in out
    assert "no existingPublicApiId (create mode)" in out  # skipped, not failed


def test_each_failure_is_found(run, account, aws, make_api, make_table) -> None:
    api = make_api(marketing_type="HTTP_PROXY")
    make_table("wrong-table", index=False)
    aws("ec2").create_vpc_endpoint(
        VpcId=account.vpc,
        ServiceName="com.amazonaws.us-east-1.execute-api",
        VpcEndpointType="Interface",
        PrivateDnsEnabled=True,
    )
    options = account.options()
    options[options.index("--table") + 1] = "wrong-table"
    report = run.json(
        "preflight",
        *options,
        "-c",
        'existingVpcEndpoints=["ecr.api","logs","ecr.dkr"]',
        "--api-id",
        api.api_id,
        code=1,
    )
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["results table"]["verdict"] == "ok"
    assert checks["marketing_id-index"]["verdict"] == "fail"
    assert checks["endpoint execute-api"]["verdict"] == "ok"  # the stack's own: DNS off
    assert "the VPC has one (private DNS on)" in checks["endpoint execute-api"]["detail"]
    assert checks["endpoint ecr.dkr"]["verdict"] == "fail"
    assert "remove" in checks["endpoint ecr.dkr"]["fix"]
    assert checks["existing public API"]["verdict"] == "fail"
    assert "HTTP_PROXY" in checks["existing public API"]["detail"]
    assert all(check["fix"] for check in report["checks"] if check["verdict"] == "fail")


def _allow_egress(aws, group: str, port: int, **peer) -> None:
    """TCP ``port`` out of ``group`` to ``peer`` (``UserIdGroupPairs=…`` or ``IpRanges=…``)."""
    aws("ec2").authorize_security_group_egress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, **peer}],
    )


def _private_dns_on(account) -> list[str]:
    """preflight of the account's VPC, its endpoints declared, executeApiPrivateDns on."""
    return [
        "preflight",
        "--vpc-id",
        account.vpc,
        "-c",
        'existingVpcEndpoints=["ecr.api","logs"]',
        "-c",
        "executeApiPrivateDns=true",
    ]


def test_private_dns_on_execute_api_in_an_existing_vpc_is_a_failure(run, account) -> None:
    report = run.json(
        *_private_dns_on(account),
        code=1,
    )
    check = {c["name"]: c for c in report["checks"]}["endpoint execute-api"]
    assert check["verdict"] == "fail"
    assert "403" in check["fix"]
    assert "endpoint lambda" not in {c["name"] for c in report["checks"]}


def test_a_second_private_dns_execute_api_endpoint_is_a_failure(run, account, aws) -> None:
    aws("ec2").create_vpc_endpoint(
        VpcId=account.vpc,
        ServiceName="com.amazonaws.us-east-1.execute-api",
        VpcEndpointType="Interface",
        PrivateDnsEnabled=True,
    )
    report = run.json(
        *_private_dns_on(account),
        "-c",
        "enableLambdaRollbackSource=true",
        code=1,
    )
    checks = {c["name"]: c for c in report["checks"]}
    assert "two endpoints with private DNS" in checks["endpoint execute-api"]["fix"]
    assert checks["endpoint lambda"]["detail"] == "missing; the stack creates it"


def test_eks_mode_needs_egress_to_the_eks_peer(run, account, aws) -> None:
    eks = [
        "-c",
        "trafficTarget=eks",
        "-c",
        f"oldEksHandlerPeer={account.eks_sg}",
        "-c",
        "oldEksHandlerPort=8080",
    ]
    report = run.json("preflight", "--query-lambda", "query-lambda", *eks, code=1)
    check = {c["name"]: c for c in report["checks"]}["Query Lambda -> target"]
    assert check["verdict"] == "fail"
    assert account.eks_sg in check["detail"]
    _allow_egress(aws, account.lambda_sg, 8080, UserIdGroupPairs=[{"GroupId": account.eks_sg}])
    report = run.json("preflight", "--query-lambda", "query-lambda", *eks, code=1)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["Query Lambda -> target"]["verdict"] == "ok"
    # The EKS side must admit the Query Lambda too: preflight says how.
    assert "authorize-security-group-ingress" in checks["EKS admits the Query Lambda"]["fix"]
    aws("ec2").authorize_security_group_ingress(
        GroupId=account.eks_sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 8080,
                "ToPort": 8080,
                "UserIdGroupPairs": [{"GroupId": account.lambda_sg}],
            }
        ],
    )
    assert run.json("preflight", "--query-lambda", "query-lambda", *eks)["ok"] is True
    # A CIDR peer is matched against the group's CIDR rules.
    cidr = [
        "-c",
        "trafficTarget=eks",
        "-c",
        "oldEksHandlerPeer=10.50.3.0/24",
        "-c",
        "oldEksHandlerPort=8080",
    ]
    assert run.json("preflight", "--query-lambda", "query-lambda", *cidr, code=1)["ok"] is False
    _allow_egress(aws, account.lambda_sg, 8080, IpRanges=[{"CidrIp": "10.50.0.0/16"}])
    assert run.json("preflight", "--query-lambda", "query-lambda", *cidr)["ok"] is True


def test_an_ecs_rollout_in_progress_fails(run, account, aws, monkeypatch) -> None:
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
    aws("ecs").create_service(
        cluster="query",
        serviceName="rolling",
        taskDefinition="query",
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": account.subnets, "securityGroups": [account.alb_sg]}
        },
    )
    report = run.json("preflight", "--cluster", "query", "--ecs-service", "rolling", code=1)
    check = {c["name"]: c for c in report["checks"]}["ECS service steady"]
    assert check["verdict"] == "fail"
    assert check["detail"] == "1/2 tasks running, 1 deployment(s), rollout IN_PROGRESS"


def test_nothing_given_is_the_phase_no_stack_and_passes(run) -> None:
    report = run.json("preflight")
    assert report["ok"] is True
    assert report["phase"] == "no stack"
    ok = {check["name"] for check in report["checks"] if check["verdict"] == "ok"}
    assert ok == {"phase", "Lambda concurrency free"}
    assert {check["verdict"] for check in report["checks"]} == {"ok", "skipped"}


def test_the_context_file_is_read_like_cdk_json(run, account, tmp_path) -> None:
    context = tmp_path / "cdk.json"
    context.write_text(
        json.dumps(
            {
                "app": "python app.py",
                "context": {
                    "vpcId": account.vpc,
                    "existingVpcEndpoints": ["ecr.api", "logs"],
                    "executeApiPrivateDns": False,
                },
            }
        )
    )
    report = run.json("preflight", "--context-file", str(context))
    assert report["ok"] is True
    assert _verdicts(report)["endpoint logs"] == "ok"


def test_the_stacks_own_endpoints_are_not_the_vpcs(run, account, aws, stack) -> None:
    """After the deploy the VPC holds the S3 gateway endpoint the stack created: preflight
    --stack knows it from the stack's resources, and does not ask to declare it."""
    tables = aws("ec2").describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [account.vpc]}])
    template = {
        "Resources": {
            "S3Endpoint": {
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {
                    "VpcId": account.vpc,
                    "ServiceName": "com.amazonaws.us-east-1.s3",
                    "VpcEndpointType": "Gateway",
                    "RouteTableIds": [tables["RouteTables"][0]["RouteTableId"]],
                },
            }
        }
    }
    aws("cloudformation").create_stack(StackName="Own", TemplateBody=json.dumps(template))
    result = run("preflight", *account.options(), *CONTEXT, "--stack", "Own", "--json")
    check = {c["name"]: c for c in json.loads(result.stdout)["checks"]}["endpoint s3"]
    assert (check["verdict"], check["detail"]) == ("ok", "the stack's own (created by its deploy)")
