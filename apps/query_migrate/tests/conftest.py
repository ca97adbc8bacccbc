"""moto's server over real HTTP for every AWS call, an existing account built in it, and the
local chain (``nox -s serve``) for the commands that talk HTTP."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto.server import ThreadedMotoServer
from query_devstack import MisbehavingServer, RecordedRequest, Reply, free_port
from query_migrate.cli import cli

REGION = "us-east-1"
ACCOUNT = "123456789012"


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """One moto server (every service) on 127.0.0.1 for the session; reset before each test."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def moto(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A clean moto server and the dummy credentials it accepts."""
    # moto's own reset endpoint, on our server on 127.0.0.1.
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("COLUMNS", "240")  # rich wraps tables at the terminal width
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    return moto_url


def client(moto_url: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=moto_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@dataclass
class Cli:
    """``query-migrate`` run in-process with ``--endpoint-url`` pointing at moto."""

    moto_url: str

    def __call__(self, *args: str, aws: bool = True) -> Result:
        argv = list(args)
        if aws:
            argv += ["--endpoint-url", self.moto_url]
        return CliRunner().invoke(cli, argv, catch_exceptions=False, terminal_width=120)

    def json(self, *args: str, code: int = 0) -> Any:
        result = self(*args, "--json")
        assert result.exit_code == code, result.output + result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def run(moto: str) -> Cli:
    return Cli(moto)


def lambda_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


@dataclass
class PublicApi:
    """The running account's public REST API, proxying to the old Query Lambda."""

    api_id: str
    stage: str
    resources: dict[str, str]
    old_function_arn: str
    alias_arn: str

    def snapshot(self, moto_url: str) -> dict[str, Any]:
        """Every resource and method integration, as API Gateway answers them."""
        apigateway = client(moto_url, "apigateway")
        integrations = {}
        for path, resource_id in self.resources.items():
            resource = apigateway.get_resource(restApiId=self.api_id, resourceId=resource_id)
            for method in resource.get("resourceMethods", {}):
                answer = apigateway.get_integration(
                    restApiId=self.api_id, resourceId=resource_id, httpMethod=method
                )
                answer.pop("ResponseMetadata")
                integrations[f"{method} {path}"] = json.dumps(answer, sort_keys=True)
        return integrations

    def deployment(self, moto_url: str) -> str:
        apigateway = client(moto_url, "apigateway")
        return apigateway.get_stage(restApiId=self.api_id, stageName=self.stage)["deploymentId"]


def make_public_api(
    moto_url: str,
    *,
    grant: bool = True,
    marketing_type: str = "AWS_PROXY",
) -> PublicApi:
    """Old Query Lambda, new Query Lambda with alias live, and the public API in front."""
    iam = client(moto_url, "iam")
    role = iam.create_role(RoleName="query-lambda", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = client(moto_url, "lambda")
    old = lam.create_function(
        FunctionName="old-query-lambda",
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": lambda_zip()},
    )
    try:  # the new Query Lambda and its alias, unless the account already has them
        alias = lam.get_alias(FunctionName="query-lambda", Name="live")
    except lam.exceptions.ResourceNotFoundException:
        lam.create_function(
            FunctionName="query-lambda",
            Runtime="python3.12",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": lambda_zip()},
        )
        version = lam.publish_version(FunctionName="query-lambda")["Version"]
        alias = lam.create_alias(FunctionName="query-lambda", Name="live", FunctionVersion=version)
    apigateway = client(moto_url, "apigateway")
    api_id = apigateway.create_rest_api(name="public-query-api")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    query = apigateway.create_resource(restApiId=api_id, parentId=root, pathPart="query")["id"]
    result = apigateway.create_resource(restApiId=api_id, parentId=query, pathPart="result")["id"]
    marketing = apigateway.create_resource(restApiId=api_id, parentId=query, pathPart="marketing")
    proxy = apigateway.create_resource(
        restApiId=api_id, parentId=marketing["id"], pathPart="{proxy+}"
    )["id"]
    old_uri = (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
        f"{old['FunctionArn']}/invocations"
    )
    for resource_id, method in ((result, "POST"), (marketing["id"], "ANY"), (proxy, "ANY")):
        apigateway.put_method(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=method,
            authorizationType="AWS_IAM",
        )
    apigateway.put_integration(
        restApiId=api_id,
        resourceId=result,
        httpMethod="POST",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=old_uri,
        timeoutInMillis=12000,
        passthroughBehavior="WHEN_NO_MATCH",
        contentHandling="CONVERT_TO_TEXT",
        requestParameters={"integration.request.header.X-Edge": "'public'"},
        cacheKeyParameters=[],
    )
    marketing_uri = old_uri if marketing_type == "AWS_PROXY" else "https://eks.example.com/q"
    for resource_id in (marketing["id"], proxy):
        apigateway.put_integration(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod="ANY",
            type=marketing_type,
            integrationHttpMethod="POST",
            uri=marketing_uri,
        )
    # CORS preflight answered by API Gateway itself: attach leaves it alone.
    apigateway.put_method(
        restApiId=api_id, resourceId=result, httpMethod="OPTIONS", authorizationType="NONE"
    )
    apigateway.put_integration(
        restApiId=api_id,
        resourceId=result,
        httpMethod="OPTIONS",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigateway.create_deployment(restApiId=api_id, stageName="prod")
    if grant:
        lam.add_permission(
            FunctionName="query-lambda",
            Qualifier="live",
            StatementId="public-api",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*",
        )
    return PublicApi(
        api_id=api_id,
        stage="prod",
        resources={
            "/query/result": result,
            "/query/marketing": marketing["id"],
            "/query/marketing/{proxy+}": proxy,
        },
        old_function_arn=old["FunctionArn"],
        alias_arn=alias["AliasArn"],
    )


def make_stack(moto_url: str, name: str, outputs: dict[str, str]) -> None:
    """A CloudFormation stack whose outputs are the given values (what the CDK app outputs)."""
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    client(moto_url, "cloudformation").create_stack(
        StackName=name, TemplateBody=json.dumps(template)
    )


@pytest.fixture
def aws(moto: str) -> Any:
    """``aws("lambda")``: a boto3 client of the clean moto server."""
    return lambda service: client(moto, service)


@pytest.fixture
def make_api(moto: str) -> Any:
    return lambda **kwargs: make_public_api(moto, **kwargs)


@pytest.fixture
def public_api(moto: str) -> PublicApi:
    return make_public_api(moto)


@pytest.fixture
def stack(moto: str) -> Any:
    """``stack(name, outputs)``: a CloudFormation stack with these outputs."""
    return lambda name, outputs: make_stack(moto, name, outputs)


@pytest.fixture
def lambda_code() -> bytes:
    """A deployment package moto accepts (its code never runs: nothing here invokes it)."""
    return lambda_zip()


@dataclass
class Chain:
    """``nox -s serve``'s chain (``python -m local_stack``), started on free ports."""

    external: str
    service: str
    internal: str
    legacy_service: str
    invoke: str
    dynamodb: str
    log_dir: Path
    output: Path


CHAIN_PARTS = ("external", "service", "internal", "dynamodb", "legacy-service", "invoke")


@pytest.fixture(scope="session")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    """The local chain as a user starts it, through its public entry point, for the session."""
    ports = {part: free_port() for part in CHAIN_PARTS}
    root = tmp_path_factory.mktemp("chain")
    log_dir, output = root / "logs", root / "serve.out"
    args = [sys.executable, "-m", "local_stack", "--log-dir", str(log_dir)]
    # `nox -s tests` passes dynalite, the emulator `nox -s serve` runs on (decision 6);
    # without it the chain runs on moto's server, about ten times slower.
    node, dynalite = (
        os.environ.get("QUERY_MIGRATE_TEST_NODE"),
        os.environ.get("QUERY_MIGRATE_TEST_DYNALITE"),
    )
    if node and dynalite:
        args += ["--dynalite", node, dynalite]
    for part, port in ports.items():
        args += [f"--{part}-port", str(port)]
    with output.open("wb") as sink:
        process = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while b"READY" not in output.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local chain did not start:\n{output.read_text()}")
            time.sleep(0.1)
        url = {part: f"http://127.0.0.1:{port}" for part, port in ports.items()}
        yield Chain(
            external=url["external"],
            service=url["service"],
            internal=url["internal"] + "/prod",
            legacy_service=url["legacy-service"],
            invoke=url["invoke"],
            dynamodb=url["dynamodb"],
            log_dir=log_dir,
            output=output,
        )
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C: the chain stops its parts in order
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
            "--table",
            self.table,
            "--vpc-id",
            self.vpc,
            "--query-lambda",
            "query-lambda",
            "--target-group-arn",
            self.target_group,
            "--cluster",
            "query",
            "--ecs-service",
            "query-service",
            "--alarms",
            ",".join(self.alarms),
        ]


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
def account(aws, lambda_code, monkeypatch: pytest.MonkeyPatch) -> Account:
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
            VpcId=vpc,
            ServiceName=f"com.amazonaws.us-east-1.{service}",
            VpcEndpointType="Interface",
            SubnetIds=subnets[:1],
            PrivateDnsEnabled=True,
        )
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
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 80,
                "ToPort": 80,
                "UserIdGroupPairs": [{"GroupId": alb_sg}],
            }
        ],
    )
    ec2.authorize_security_group_ingress(
        GroupId=alb_sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 80,
                "ToPort": 80,
                "UserIdGroupPairs": [{"GroupId": lambda_sg}],
            }
        ],
    )
    elb = aws("elbv2")
    balancer = elb.create_load_balancer(
        Name="query-alb", Subnets=subnets, SecurityGroups=[alb_sg], Scheme="internal"
    )["LoadBalancers"][0]
    target_group = elb.create_target_group(
        Name="query-tg", Protocol="HTTP", Port=8000, VpcId=vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
    )
    elb.register_targets(
        TargetGroupArn=target_group,
        Targets=[{"Id": "10.40.1.10", "Port": 8000}, {"Id": "10.40.2.10", "Port": 8000}],
    )
    role = aws("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = aws("lambda")
    lam.create_function(
        FunctionName="query-lambda",
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": lambda_code},
        VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [lambda_sg]},
        Environment={"Variables": {"EKS_HANDLER_URL": f"http://{balancer['DNSName']}"}},
    )
    version = lam.publish_version(FunctionName="query-lambda")["Version"]
    lam.create_alias(FunctionName="query-lambda", Name="live", FunctionVersion=version)
    ecs = aws("ecs")
    ecs.create_cluster(clusterName="query")
    ecs.register_task_definition(
        family="query",
        containerDefinitions=[{"name": "app", "image": "query", "memory": 512}],
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
    )
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")  # moto's way to say: tasks are up
    ecs.create_service(
        cluster="query",
        serviceName="query-service",
        taskDefinition="query",
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": subnets, "securityGroups": [alb_sg]}
        },
    )
    cloudwatch = aws("cloudwatch")
    alarms = ["query-5xx", "query-p99"]
    for name in alarms:
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            MetricName="Errors",
            Namespace="AWS/Lambda",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
        )
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


@pytest.fixture
def make_table(aws) -> Any:
    """``make_table(name, index=True)``: a results table (with ``marketing_id-index``)."""
    return lambda name, *, index=True: _table(aws, name, index=index)


def _seeding_proxy(upstream: str) -> MisbehavingServer:
    """A real HTTP server in front of the new path that changes some answers."""

    def reply(request: RecordedRequest) -> Reply:
        body = json.loads(request.body) if request.body.startswith(b"{") else {}
        forwarded = urllib.request.Request(  # noqa: S310 - the chain on 127.0.0.1
            upstream + request.target,
            data=request.body,
            method="POST",
            headers={
                "content-type": "application/json",
                "x-request-id": request.headers.get("x-request-id", ""),
            },
        )
        try:
            with urllib.request.urlopen(forwarded, timeout=10) as answer:  # noqa: S310
                status, data, headers = answer.status, answer.read(), dict(answer.headers)
        except urllib.error.HTTPError as error:
            status, data, headers = error.code, error.read(), dict(error.headers)
        headers = {
            k.lower(): v
            for k, v in headers.items()
            if k.lower() in {"content-type", "x-request-id"}
        }
        if body.get("user_id") == "u-1003" and status == 200:  # one changed field per item
            page = json.loads(data)
            for item in page["items"]:
                item["status"] = item["status"].upper()
            data = json.dumps(page).encode()
        if body.get("user_id") == "u-1004" and body.get("limit") == 7:  # an outage
            status, data = 503, b'{"detail": "the internal API is unavailable"}'
            headers["retry-after"] = "1"
        if body.get("user_id") == "u-1002" and body.get("ap_id") == "ap-reports":
            headers.pop("x-request-id", None)  # the id is not echoed
        return Reply(status=status, body=data, headers=headers)

    return MisbehavingServer(reply)


@pytest.fixture
def seeding_proxy() -> Any:
    """``with seeding_proxy(new_path_url) as proxy``: the new path with seeded differences:
    u-1003's items change status case, u-1004 at limit 7 gets a 503, u-1002's ap-reports
    answers lose their X-Request-Id."""
    return _seeding_proxy


def start_canary(
    moto_url: str, application: str, group: str, counts: dict[str, tuple[int, int]]
) -> str:
    """A CodeDeploy deployment of the Query Lambda's alias in flight, and what Lambda publishes
    for an alias (FunctionName + Resource + ExecutedVersion): invocations and errors per
    version. moto computes no percentile, so no Duration is put: p99 shows as "–"."""
    codedeploy = client(moto_url, "codedeploy")
    codedeploy.create_application(applicationName=application, computePlatform="Lambda")
    codedeploy.create_deployment_group(
        applicationName=application,
        deploymentGroupName=group,
        serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
        deploymentConfigName="CodeDeployDefault.LambdaCanary10Percent5Minutes",
        deploymentStyle={
            "deploymentType": "BLUE_GREEN",
            "deploymentOption": "WITH_TRAFFIC_CONTROL",
        },
    )
    deployment = codedeploy.create_deployment(
        applicationName=application,
        deploymentGroupName=group,
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}},
    )["deploymentId"]
    now = datetime.now(UTC)
    for version, (invocations, errors) in counts.items():
        dimensions = [
            {"Name": "FunctionName", "Value": "query-lambda"},
            {"Name": "Resource", "Value": "query-lambda:live"},
            {"Name": "ExecutedVersion", "Value": version},
        ]
        client(moto_url, "cloudwatch").put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {
                    "MetricName": "Invocations",
                    "Dimensions": dimensions,
                    "Value": invocations,
                    "Timestamp": now,
                },
                {
                    "MetricName": "Errors",
                    "Dimensions": dimensions,
                    "Value": errors,
                    "Timestamp": now,
                },
            ],
        )
    return str(deployment)


@pytest.fixture
def canary(moto: str) -> Any:
    """``canary(application, group, {version: (invocations, errors)})``: the deployment id."""
    return lambda application, group, counts: start_canary(moto, application, group, counts)
