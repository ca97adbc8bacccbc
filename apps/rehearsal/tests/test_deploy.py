"""The rehearsal's deploy (``rehearsal.deploy``) against moto's server over HTTP: a template in
two parts (moto's CloudFormation and the resources' own APIs) whose references cross both
ways, the stack's outputs from both, every resource placed, and a type no part knows refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from query_devstack import EmulatorProcess
from rehearsal.deploy import (
    CLOUDFORMATION,
    PART_API,
    PART_CLOUDFORMATION,
    PART_NONE,
    DeployError,
    clients,
    deploy,
    parts,
)
from rehearsal.resources import API, NOT_CREATED

STACK = "QueryService-test"
BOOTSTRAP = "/cdk-bootstrap/hnb659fds/version"
BUCKET = "cdk-hnb659fds-assets-123456789012-us-east-1"

#: A log group (CloudFormation) whose metric filter (API) it names; a secret (API) whose ARN a
#: role's policy (CloudFormation) names; an alarm (API) on the filter's metric; the CDK's
#: metadata (not created); outputs from both parts.
TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": BOOTSTRAP}
    },
    "Resources": {
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
        "Filter": {
            "Type": "AWS::Logs::MetricFilter",
            "Properties": {
                "LogGroupName": {"Ref": "Logs"},
                "FilterPattern": "{ $.status >= 500 }",
                "MetricTransformations": [
                    {"MetricName": "Errors", "MetricNamespace": "Query", "MetricValue": "1"}
                ],
            },
        },
        "Keys": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "GenerateSecretString": {
                    "ExcludePunctuation": True,
                    "GenerateStringKey": "key",
                    "PasswordLength": 32,
                    "SecretStringTemplate": '{"id": "k1"}',
                }
            },
        },
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "read-keys",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "secretsmanager:GetSecretValue",
                                    "Resource": {"Ref": "Keys"},
                                }
                            ],
                        },
                    }
                ],
            },
        },
        "Errors": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "EvaluationPeriods": 1,
                "MetricName": "Errors",
                "Namespace": "Query",
                "Period": 60,
                "Statistic": "Sum",
                "Threshold": 1,
                "AlarmDescription": {"Fn::Sub": "errors logged in ${Logs}"},
            },
            "DependsOn": ["Filter"],
        },
        "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:x"}},
    },
    "Outputs": {
        "LogGroupName": {"Value": {"Ref": "Logs"}},
        "RoleArn": {"Value": {"Fn::GetAtt": ["Role", "Arn"]}},
        "TokenSecretArn": {"Value": {"Ref": "Keys"}},
        "AlarmNames": {"Value": {"Fn::Join": [",", [{"Ref": "Errors"}, "other"]]}},
        "Literal": {"Value": "query-results"},
    },
}


def _cdk_out(tmp_path: Path, template: dict[str, Any]) -> Path:
    (tmp_path / "asset.abc").mkdir()
    (tmp_path / "asset.abc" / "index.py").write_text("def handler(event, context): ...\n")
    (tmp_path / f"{STACK}.template.json").write_text(json.dumps(template))
    destination = {"bucketName": BUCKET, "objectKey": "abc.zip", "region": "us-east-1"}
    assets = {"files": {"abc": {"source": {"path": "asset.abc", "packaging": "zip"},
                                "destinations": {"d": destination}}}}  # fmt: skip
    (tmp_path / f"{STACK}.assets.json").write_text(json.dumps(assets))
    return tmp_path


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with EmulatorProcess() as process:
        yield process.endpoint_url


def test_a_template_in_two_parts_is_deployed_with_its_outputs(tmp_path, moto) -> None:
    aws = clients(moto, moto, "us-east-1")
    done = deploy(_cdk_out(tmp_path, TEMPLATE), STACK, aws=aws, account="123456789012",
                  region="us-east-1")  # fmt: skip
    placed = {p.logical_id: p.part for p in done.resources}
    assert placed == {
        "Logs": PART_CLOUDFORMATION,
        "Role": PART_CLOUDFORMATION,
        "Filter": PART_API,
        "Keys": PART_API,
        "Errors": PART_API,
        "CDKMetadata": PART_NONE,
    }
    assert all(p.reason for p in done.resources)
    # The secret first (the role's policy names it), then CloudFormation, then what names it.
    assert done.waves >= 2
    outputs = done.outputs
    assert set(outputs) == set(TEMPLATE["Outputs"])
    assert outputs["Literal"] == "query-results"
    secret = aws("secretsmanager").describe_secret(SecretId=outputs["TokenSecretArn"])
    assert (
        json.loads(aws("secretsmanager").get_secret_value(SecretId=secret["ARN"])["SecretString"])[
            "id"
        ]
        == "k1"
    )
    group = outputs["LogGroupName"]
    filters = aws("logs").describe_metric_filters(logGroupName=group)["metricFilters"]
    assert [f["filterPattern"] for f in filters] == ["{ $.status >= 500 }"]
    alarm_name = outputs["AlarmNames"].split(",")[0]
    alarm = aws("cloudwatch").describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"][0]
    assert alarm["AlarmDescription"] == f"errors logged in {group}"
    role = outputs["RoleArn"].rsplit("/", 1)[1]
    policy = aws("iam").get_role_policy(RoleName=role, PolicyName="read-keys")
    # moto's server answers an inline policy of CloudFormation as the repr of a dict.
    assert f"'Resource': '{secret['ARN']}'" in str(policy["PolicyDocument"])
    # What cdk bootstrap and the asset publishing leave: the parameter, the asset zipped.
    assert aws("ssm").get_parameter(Name=BOOTSTRAP)["Parameter"]["Value"]
    body = aws("s3").get_object(Bucket=BUCKET, Key="abc.zip")["Body"].read()
    assert body.startswith(b"PK")


def test_a_type_no_part_knows_fails_the_deploy_naming_it(tmp_path, moto) -> None:
    template = json.loads(json.dumps(TEMPLATE))
    template["Resources"]["Queue"] = {"Type": "AWS::SQS::Queue", "Properties": {}}
    template["Resources"]["Odd"] = {"Type": "Custom::Unheard", "Properties": {}}
    with pytest.raises(DeployError, match=r"no part of the deploy knows the type "
                       r"AWS::SQS::Queue \(Queue\); Custom::Unheard \(Odd\)"):  # fmt: skip
        deploy(_cdk_out(tmp_path, template), STACK, aws=clients(moto, moto, "us-east-1"),
               account="123456789012", region="us-east-1")  # fmt: skip


def test_the_parts_do_not_overlap() -> None:
    assert not CLOUDFORMATION & set(API)
    assert not CLOUDFORMATION & set(NOT_CREATED)
    assert not set(API) & set(NOT_CREATED)
    assert [p.part for p in parts(TEMPLATE)].count(PART_NONE) == 1


def test_moto_models_every_type_sent_to_its_cloudformation() -> None:
    """moto's CloudFormation has a model for each type of :data:`CLOUDFORMATION`."""
    import moto.cloudformation.parsing  # noqa: F401  (it imports every model)
    from moto.core.common_models import CloudFormationModel

    def subclasses(cls: type) -> Iterator[type]:
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    modelled = set()
    for model in subclasses(CloudFormationModel):
        try:
            modelled.add(model.cloudformation_type())  # type: ignore[attr-defined]
        except NotImplementedError:
            continue
    assert modelled >= CLOUDFORMATION, sorted(CLOUDFORMATION - modelled)
