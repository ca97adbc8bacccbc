"""read_context: every key read, validated at synth, one clear line per mistake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App
from query_infra.context import ContextError, read_context

INFRA = Path(__file__).resolve().parents[1]
CERTIFICATE = (
    "arn:aws:acm:ap-northeast-1:123456789012:certificate/0b9f6f1e-1111-2222-3333-444455556666"
)


@pytest.fixture(scope="module")
def read(assets):
    def read(context: dict) -> object:
        return read_context(App(context=context), **assets)

    return read


def problems(read, context: dict) -> list[str]:
    with pytest.raises(ContextError) as caught:
        read(context)
    return caught.value.problems


#: The existing public API kept (existingPublicApiId), without its owner rule.
API = {"existingPublicApiId": "a1b2c3d4e5"}


def test_defaults_make_a_fresh_environment(read):
    config = read({})
    assert not config.imported_vpc
    assert config.execute_api_private_dns is True
    assert config.public_auth == "iam"
    assert config.creates_public_api
    assert (config.throttle_rate_limit, config.throttle_burst_limit) == (50.0, 100)
    assert config.reserved_concurrency == 50


def test_the_running_account_context_reads_as_written(read, context):
    config = read(context)
    assert config.vpc_id == context["vpcId"]
    assert config.execute_api_private_dns is False  # an imported VPC: off unless asked
    assert config.existing_vpc_endpoints == {"ecr.api", "s3"}
    assert config.old_eks_handler_peer == context["oldEksHandlerPeer"]
    assert config.ingress_cidrs == (context["vpcCidr"],)


def test_a_vpc_with_a_secondary_block_has_its_endpoints_admit_every_block(read, context):
    # Not the 10.40.0.0/16 default: pods on the secondary block keep image pulls and logs.
    config = read({**context, "vpcCidr": ["10.20.0.0/16", "100.64.0.0/16"]})
    assert config.vpc_cidr == "10.20.0.0/16"
    assert config.ingress_cidrs == ("10.20.0.0/16", "100.64.0.0/16")


def test_a_new_vpc_takes_one_block(read):
    with pytest.raises(ContextError, match="vpcCidr takes one CIDR for the VPC the stack creates"):
        read({"vpcCidr": "10.40.0.0/16,10.41.0.0/16"})


def test_lists_bools_and_numbers_also_come_as_cli_strings(read, context):
    config = read(
        {
            **context,
            "privateSubnetIds": "subnet-0aaa1111, subnet-0bbb2222",
            "existingVpcEndpoints": '["logs"]',
            "executeApiPrivateDns": "true",
            "taskCpu": "1024",
            "throttleRateLimit": "12.5",
        }
    )
    assert config.private_subnet_ids == ("subnet-0aaa1111", "subnet-0bbb2222")
    assert config.existing_vpc_endpoints == {"logs"}
    assert config.execute_api_private_dns is True
    assert config.task_cpu == 1024
    assert config.throttle_rate_limit == 12.5


def test_every_mistake_is_one_line_and_all_come_at_once(read, context):
    found = problems(
        read,
        {
            **context,
            "privateRouteTableIds": [],  # subnets without route tables
            "oldEksHandlerPeer": "",  # existing VPC, eks target, no peer
            "existingPublicApiId": "NotAnApiId",  # wrong format
            "vpcID": "vpc-0123456789abcdef0",  # a typo of a key
        },
    )
    assert len(found) == 4, found
    assert all("\n" not in line for line in found)
    text = "\n".join(found)
    assert "privateRouteTableIds needs one route table per private subnet (2), got 0" in text
    assert "oldEksHandlerUrl needs oldEksHandlerPeer" in text
    assert "existingPublicApiId must be a REST API id" in text
    assert "vpcID is not a context key of this app (did you mean vpcId?)" in text


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"vpcId": "vpc-1"}, "vpcId must be a VPC id"),
        ({"trafficTarget": "k8s"}, "trafficTarget must be 'ecs' or 'eks'"),
        (
            {"imageBuild": "docker"},
            "imageBuild must be 'codebuild' or 'local-docker', not 'docker'",
        ),
        ({"taskCpu": 1024, "taskMemoryMiB": 1024}, "taskMemoryMiB 1024 does not fit taskCpu 1024"),
        ({"taskCpu": 300}, "taskCpu must be one of"),
        ({"desiredCount": 4, "maxCount": 2}, "maxCount (2) must be at least desiredCount (4)"),
        ({"endpointIngressCidrs": ["0.0.0.0/0"]}, "admits the whole internet"),
        ({"endpointIngressCidrs": ["10.20.0.1/16"]}, "is not an IPv4 CIDR"),
        ({"oldEksHandlerPeer": "eks-nodes"}, "oldEksHandlerPeer must be a security group id"),
        ({"oldEksHandlerPort": 9090}, "oldEksHandlerPort 9090 differs from"),
        ({"existingVpcEndpoints": ["sqs"]}, "existingVpcEndpoints: unknown sqs"),
        (
            {"existingVpcEndpoints": ["execute-api"], "executeApiPrivateDns": True},
            "only one endpoint of a service may have private DNS",
        ),
        ({"availabilityZones": ["eu-west-1a", "eu-west-1b"]}, "must be zones of region"),
        (
            {"existingPublicApiId": "a1b2c3d4e5", "ownerClaim": "sub", "publicAuth": "cognito"},
            "publicAuth configures the public API the stack creates",
        ),
        ({"existingPublicApiPaths": ["query/result"]}, "each item must be a resource path"),
        (API, "existingPublicApiId needs an owner rule: ownerClaim (sub"),
        ({**API, "ownerClaim": "custom:user_id"}, "custom:user_id is not an identity"),
        ({**API, "ownerClaim": "email"}, "ownerClaim=email is not an identity"),
        ({**API, "ownerClaim": "sub", "ownerCheck": False}, "ownerClaim is not read with ownerCh"),
        ({**API, "ownerCheck": "off"}, "ownerCheck must be true or false"),
        ({"enableLambdaRollbackSource": "maybe"}, "Source must be true or false"),
        ({"resultSource": "invoke"}, "resultSource must be 'internal_api' or 'lambda'"),
        (
            {"resultSource": "lambda", "enableLambdaRollbackSource": False},
            "resultSource=lambda needs enableLambdaRollbackSource=true",
        ),
        ({"throttleRateLimit": 500, "throttleBurstLimit": 100}, "BurstLimit must be at least"),
        ({"reservedConcurrency": 0}, "reservedConcurrency must be between 1 and 1000"),
        (
            {"albCertificateArn": "arn:aws:iam::123456789012:server-certificate/x"},
            "albCertificateArn must be an ACM certificate ARN",
        ),
        ({"albCertificateArn": CERTIFICATE}, "albCertificateArn needs albHostName"),
        ({"albHostName": "query.internal.example.com"}, "albHostName is only read with albCer"),
        (
            {
                "albCertificateArn": CERTIFICATE,
                "albHostName": "internal-query-1234.ap-northeast-1.elb.amazonaws.com_",
                "albHostedZoneId": "Z0123456789ABCDEFGHIJ",
            },
            "albHostName must be a lowercase DNS name",
        ),
    ],
)
def test_one_clear_line_per_mistake_in_the_running_account(read, context, change, expected):
    found = problems(read, {**context, **change})
    assert len(found) == 1, found
    assert expected in found[0]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"privateSubnetIds": ["subnet-0aaa1111"]}, "privateSubnetIds is only read with vpcId"),
        ({"publicAuth": "cognito"}, "publicAuth=cognito needs cognitoUserPoolArn"),
        ({"publicAuth": "lambda"}, "publicAuth=lambda needs authorizerFunctionArn"),
        ({"publicAuth": "open"}, "publicAuth must be 'iam', 'cognito', 'lambda' or 'none'"),
        ({"publicAuth": "none", "ownerClaim": "sub"}, "ownerClaim needs an authorizer"),
        ({"ownerClaim": "custom:user_id"}, "with publicAuth=iam it is caller"),
        ({"ownerCheck": False}, "ownerCheck is only read with existingPublicApiId"),
        ({"existingPublicApiStage": "v1"}, "existingPublicApiStage is only read with"),
        ({"trafficTarget": "eks"}, "trafficTarget=eks needs oldEksHandlerUrl"),
    ],
)
def test_one_clear_line_per_mistake_in_a_fresh_environment(read, change, expected):
    found = problems(read, change)
    assert any(expected in line for line in found), found


@pytest.mark.parametrize("claim", ["sub", "principalId", "caller"])
def test_the_existing_api_takes_an_identity_its_authorizer_issues(read, context, claim):
    assert read({**context, **API, "ownerClaim": claim}).owner_check


def test_the_existing_api_serves_any_caller_only_when_told(read, context):
    config = read({**context, **API, "ownerCheck": False})
    assert config.owner_check_disabled
    assert not config.owner_check


def test_missing_build_artifacts_are_named(tmp_path):
    with pytest.raises(ContextError) as caught:
        read_context(App(), lambda_package=tmp_path / "lambda", image_context=tmp_path / "image")
    assert [line.split(" is missing")[1] for line in caught.value.problems] == [
        ": run `nox -s build` first",
        ": run `nox -s build` first, or give imageTag",
    ]


def test_the_app_stops_with_one_line_per_mistake_not_a_traceback():
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({"trafficTarget": "k8s", "maxCount": 0})}
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=INFRA,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert lines == [
        "  - trafficTarget must be 'ecs' or 'eks', not 'k8s'",
        "  - maxCount must be between 1 and 100, not 0",
    ]


def test_cdk_json_holds_no_key_of_the_app():
    # The CLI ranks cdk.json above cdk.context.json: a key here, even "", would hide the
    # operator's value (infra/tests/test_cli.py runs the CLI on the runbook's file).
    context = json.loads((INFRA / "cdk.json").read_text())["context"]
    assert [k for k in context if not k.startswith("@")] == []


def test_the_image_is_built_in_codebuild_unless_local_docker_is_chosen(read):
    assert read({}).image_build == "codebuild"
    assert read({"imageBuild": "local-docker"}).image_build == "local-docker"
