"""preflight against an account built in moto's server (DynamoDB, EC2, Lambda, ELBv2, ECS...)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest


@dataclass
class Account:
    table: str
    vpc: str
    lambda_sg: str
    alb_sg: str
    eks_sg: str
    target_group: str
    alarms: list[str]
    subnets: list[str]

    def options(self) -> list[str]:
        return [
            "--table", self.table, "--vpc-id", self.vpc, "--query-lambda", "query-lambda",
            "--target-group-arn", self.target_group, "--cluster", "query", "--ecs-service",
            "query-service", "--alarms", ",".join(self.alarms),
        ]  # fmt: skip


def _table(aws, name: str = "query-results", *, index: bool = True) -> None:
    kwargs = {}
    if index:
        kwargs["GlobalSecondaryIndexes"] = [
            {
                "IndexName": "marketing_id-index",
                "KeySchema": [{"AttributeName": "marketing_id", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    aws("dynamodb").create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "user_id", "KeyType": "HASH"},
            {"AttributeName": "result_id", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "user_id", "AttributeType": "S"},
            {"AttributeName": "result_id", "AttributeType": "S"},
            *([{"AttributeName": "marketing_id", "AttributeType": "S"}] if index else []),
        ],
        BillingMode="PAY_PER_REQUEST",
        **kwargs,
    )


@pytest.fixture
def account(aws, lambda_code, monkeypatch) -> Account:
    """The running account after the stack's first deploy: everything as preflight wants it."""
    _table(aws)
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{n}.0/24", AvailabilityZone=f"us-east-1{z}")[
            "Subnet"
        ]["SubnetId"]
        for n, z in ((1, "a"), (2, "b"))
    ]
    for service in ("ecr.api", "logs"):
        ec2.create_vpc_endpoint(
            VpcId=vpc, ServiceName=f"com.amazonaws.us-east-1.{service}",
            VpcEndpointType="Interface", SubnetIds=subnets[:1], PrivateDnsEnabled=True,
        )  # fmt: skip
    group = lambda name: ec2.create_security_group(  # noqa: E731
        GroupName=name, Description=name, VpcId=vpc
    )["GroupId"]
    lambda_sg, alb_sg, eks_sg = group("query-lambda"), group("alb"), group("eks-nodes")
    ec2.revoke_security_group_egress(
        GroupId=lambda_sg,
        IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    ec2.authorize_security_group_egress(
        GroupId=lambda_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                        "UserIdGroupPairs": [{"GroupId": alb_sg}]}],
    )  # fmt: skip
    ec2.authorize_security_group_ingress(
        GroupId=alb_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                        "UserIdGroupPairs": [{"GroupId": lambda_sg}]}],
    )  # fmt: skip
    elb = aws("elbv2")
    balancer = elb.create_load_balancer(
        Name="query-alb", Subnets=subnets, SecurityGroups=[alb_sg], Scheme="internal"
    )["LoadBalancers"][0]
    target_group = elb.create_target_group(
        Name="query-tg", Protocol="HTTP", Port=8000, VpcId=vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
    )  # fmt: skip
    elb.register_targets(
        TargetGroupArn=target_group,
        Targets=[{"Id": "10.40.1.10", "Port": 8000}, {"Id": "10.40.2.10", "Port": 8000}],
    )
    role = aws("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = aws("lambda")
    lam.create_function(
        FunctionName="query-lambda", Runtime="python3.12", Role=role, Handler="handler.handler",
        Code={"ZipFile": lambda_code},
        VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [lambda_sg]},
        Environment={"Variables": {"EKS_HANDLER_URL": f"http://{balancer['DNSName']}"}},
    )  # fmt: skip
    version = lam.publish_version(FunctionName="query-lambda")["Version"]
    lam.create_alias(FunctionName="query-lambda", Name="live", FunctionVersion=version)
    ecs = aws("ecs")
    ecs.create_cluster(clusterName="query")
    ecs.register_task_definition(
        family="query", containerDefinitions=[{"name": "app", "image": "query", "memory": 512}],
        requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
    )  # fmt: skip
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")  # moto's way to say: tasks are up
    ecs.create_service(
        cluster="query", serviceName="query-service", taskDefinition="query", desiredCount=2,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets,
                                                      "securityGroups": [alb_sg]}},
    )  # fmt: skip
    cloudwatch = aws("cloudwatch")
    alarms = ["query-5xx", "query-p99"]
    for name in alarms:
        cloudwatch.put_metric_alarm(
            AlarmName=name, MetricName="Errors", Namespace="AWS/Lambda", Statistic="Sum",
            Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
        )  # fmt: skip
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="test")
    return Account(
        table="query-results",
        vpc=vpc,
        lambda_sg=lambda_sg,
        alb_sg=alb_sg,
        eks_sg=eks_sg,
        target_group=target_group,
        alarms=alarms,
        subnets=subnets,
    )


CONTEXT = ["-c", 'existingVpcEndpoints=["ecr.api","logs"]', "-c", "executeApiPrivateDns=false"]


def _verdicts(report) -> dict[str, str]:
    return {check["name"]: check["verdict"] for check in report["checks"]}


def test_a_ready_account_passes_every_check(run, account, make_api) -> None:
    api = make_api()
    report = run.json(
        "preflight", *account.options(), *CONTEXT, "--api-id", api.api_id,
        "--alias-arn", api.alias_arn,
    )  # fmt: skip
    assert report["ok"] is True
    verdicts = _verdicts(report)
    assert set(verdicts.values()) == {"ok"}, report
    assert list(verdicts) == [
        "results table", "marketing_id-index", "endpoint execute-api", "endpoint ecr.api",
        "endpoint ecr.dkr", "endpoint logs", "execute-api private DNS",
        "Query Lambda -> target", "ECS service steady", "ALB targets healthy", "alarms in OK",
        "existing public API",
    ]  # fmt: skip
    detail = {check["name"]: check["detail"] for check in report["checks"]}
    assert detail["endpoint execute-api"] == "missing; the stack creates it"
    assert detail["ALB targets healthy"] == "2/2 healthy"
    assert "3 Lambda proxy integration(s)" in detail["existing public API"]


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


def test_each_failure_is_found(run, account, aws, make_api) -> None:
    api = make_api(marketing_type="HTTP_PROXY")
    _table(aws, "wrong-table", index=False)
    aws("ec2").create_vpc_endpoint(
        VpcId=account.vpc, ServiceName="com.amazonaws.us-east-1.execute-api",
        VpcEndpointType="Interface", PrivateDnsEnabled=True,
    )  # fmt: skip
    options = account.options()
    options[options.index("--table") + 1] = "wrong-table"
    report = run.json(
        "preflight", *options, "-c", 'existingVpcEndpoints=["ecr.api","logs","ecr.dkr"]',
        "--api-id", api.api_id, code=1,
    )  # fmt: skip
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["results table"]["verdict"] == "ok"
    assert checks["marketing_id-index"]["verdict"] == "fail"
    assert checks["endpoint execute-api"]["verdict"] == "fail"
    assert "private DNS on" in checks["endpoint execute-api"]["detail"]
    assert checks["endpoint ecr.dkr"]["verdict"] == "fail"
    assert "remove" in checks["endpoint ecr.dkr"]["fix"]
    assert checks["existing public API"]["verdict"] == "fail"
    assert "HTTP_PROXY" in checks["existing public API"]["detail"]
    assert all(check["fix"] for check in report["checks"] if check["verdict"] == "fail")


def test_private_dns_on_execute_api_in_an_existing_vpc_is_a_failure(run, account) -> None:
    report = run.json(
        "preflight", "--vpc-id", account.vpc, "-c", 'existingVpcEndpoints=["ecr.api","logs"]',
        "-c", "executeApiPrivateDns=true", code=1,
    )  # fmt: skip
    check = {c["name"]: c for c in report["checks"]}["execute-api private DNS"]
    assert check["verdict"] == "fail"
    assert "403" in check["fix"]


def test_eks_mode_needs_egress_to_the_eks_peer(run, account, aws) -> None:
    eks = ["-c", "trafficTarget=eks", "-c", f"oldEksHandlerPeer={account.eks_sg}",
           "-c", "oldEksHandlerPort=8080"]  # fmt: skip
    report = run.json("preflight", "--query-lambda", "query-lambda", *eks, code=1)
    check = {c["name"]: c for c in report["checks"]}["Query Lambda -> target"]
    assert check["verdict"] == "fail"
    assert account.eks_sg in check["detail"]
    aws("ec2").authorize_security_group_egress(
        GroupId=account.lambda_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
                        "UserIdGroupPairs": [{"GroupId": account.eks_sg}]}],
    )  # fmt: skip
    report = run.json("preflight", "--query-lambda", "query-lambda", *eks)
    assert {c["name"]: c["verdict"] for c in report["checks"]}["Query Lambda -> target"] == "ok"
    # A CIDR peer is matched against the group's CIDR rules.
    cidr = ["-c", "trafficTarget=eks", "-c", "oldEksHandlerPeer=10.50.3.0/24",
            "-c", "oldEksHandlerPort=8080"]  # fmt: skip
    assert run.json("preflight", "--query-lambda", "query-lambda", *cidr, code=1)["ok"] is False
    aws("ec2").authorize_security_group_egress(
        GroupId=account.lambda_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
                        "IpRanges": [{"CidrIp": "10.50.0.0/16"}]}],
    )  # fmt: skip
    assert run.json("preflight", "--query-lambda", "query-lambda", *cidr)["ok"] is True


def test_an_ecs_rollout_in_progress_fails(run, account, aws, monkeypatch) -> None:
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
    aws("ecs").create_service(
        cluster="query", serviceName="rolling", taskDefinition="query", desiredCount=2,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": account.subnets,
                                                      "securityGroups": [account.alb_sg]}},
    )  # fmt: skip
    report = run.json("preflight", "--cluster", "query", "--ecs-service", "rolling", code=1)
    check = {c["name"]: c for c in report["checks"]}["ECS service steady"]
    assert check["verdict"] == "fail"
    assert check["detail"] == "1/2 tasks running, 1 deployment(s), rollout IN_PROGRESS"


def test_nothing_given_is_all_skipped_and_passes(run) -> None:
    report = run.json("preflight")
    assert report["ok"] is True
    assert {check["verdict"] for check in report["checks"]} == {"skipped"}


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
