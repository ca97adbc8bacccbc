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
from rehearsal.update import update

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


def _cdk_out(tmp_path: Path, template: dict[str, Any], stack: str = STACK) -> Path:
    (tmp_path / "asset.abc").mkdir()
    (tmp_path / "asset.abc" / "index.py").write_text("def handler(event, context): ...\n")
    (tmp_path / f"{stack}.template.json").write_text(json.dumps(template))
    destination = {"bucketName": BUCKET, "objectKey": "abc.zip", "region": "us-east-1"}
    assets = {"files": {"abc": {"source": {"path": "asset.abc", "packaging": "zip"},
                                "destinations": {"d": destination}}}}  # fmt: skip
    (tmp_path / f"{stack}.assets.json").write_text(json.dumps(assets))
    return tmp_path


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    # Two tasks counted for each ECS service, as the rehearsal's server (MOTO_SETTINGS).
    with EmulatorProcess(settings={"MOTO_ECS_SERVICE_RUNNING": "2"}) as process:
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


def _service_template(subnets: list[str], vpc: str, *, source: str, endpoint: bool) -> Any:
    """An ECS service behind a target group, its task definition (``RESULT_SOURCE=source``)
    and its tasks' group (egress on 443 to the VPC; with ``endpoint``, also to a ``lambda``
    VPC endpoint the template adds): what the internal hop's deploy changes."""
    egress = [{"CidrIp": "10.0.0.0/8", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}]
    if endpoint:
        egress.append({"CidrIp": "10.1.0.0/16", "IpProtocol": "tcp", "FromPort": 443,
                       "ToPort": 443})  # fmt: skip
    resources: dict[str, Any] = {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {}},
        "Sg": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "tasks",
                "VpcId": vpc,
                "SecurityGroupEgress": egress,
            },
        },
        "SgToDns": {  # a rule of the group that is not inline: the update keeps it
            "Type": "AWS::EC2::SecurityGroupEgress",
            "Properties": {
                "GroupId": {"Fn::GetAtt": ["Sg", "GroupId"]},
                "IpProtocol": "tcp",
                "FromPort": 53,
                "ToPort": 53,
                "CidrIp": "10.2.0.0/16",
            },
        },
        "Tasks": {
            "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
            "Properties": {"VpcId": vpc, "Port": 8080, "Protocol": "HTTP", "TargetType": "ip"},
        },
        "Definition": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": "service",
                "Cpu": "256",
                "Memory": "512",
                "NetworkMode": "awsvpc",
                "RequiresCompatibilities": ["FARGATE"],
                "ContainerDefinitions": [
                    {
                        "Name": "service",
                        "Image": "service:1",
                        "PortMappings": [{"ContainerPort": 8080, "Protocol": "tcp"}],
                        "Environment": [{"Name": "RESULT_SOURCE", "Value": source}],
                        "LogConfiguration": {
                            "LogDriver": "awslogs",
                            "Options": {"awslogs-group": "tasks", "awslogs-region": "us-east-1"},
                        },
                    }
                ],
            },
        },
        "Service": {
            "Type": "AWS::ECS::Service",
            "Properties": {
                "Cluster": {"Ref": "Cluster"},
                "TaskDefinition": {"Ref": "Definition"},
                "DesiredCount": 2,
                "LaunchType": "FARGATE",
                "NetworkConfiguration": {
                    "AwsvpcConfiguration": {
                        "Subnets": subnets,
                        "SecurityGroups": [{"Fn::GetAtt": ["Sg", "GroupId"]}],
                    }
                },
                "LoadBalancers": [
                    {
                        "TargetGroupArn": {"Ref": "Tasks"},
                        "ContainerName": "service",
                        "ContainerPort": 8080,
                    }
                ],
            },
        },
    }
    if endpoint:
        resources["LambdaEndpoint"] = {
            "Type": "AWS::EC2::VPCEndpoint",
            "Properties": {
                "ServiceName": "com.amazonaws.us-east-1.lambda",
                "VpcEndpointType": "Interface",
                "VpcId": vpc,
                "SubnetIds": subnets,
                "SecurityGroupIds": [{"Fn::GetAtt": ["Sg", "GroupId"]}],
                "PrivateDnsEnabled": True,
            },
        }
    return {"Resources": resources, "Outputs": {"ClusterName": {"Value": {"Ref": "Cluster"}}}}


def _targets(aws: Any, group: str) -> list[str]:
    found = aws("elbv2").describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    return sorted(t["Target"]["Id"] for t in found)


def _addresses(aws: Any, interfaces: list[str]) -> list[str]:
    found = aws("ec2").describe_network_interfaces(NetworkInterfaceIds=interfaces)
    return sorted(eni["PrivateIpAddress"] for eni in found["NetworkInterfaces"])


def test_the_update_moves_the_service_to_a_new_task_definition(tmp_path, moto) -> None:
    """The internal hop's deploy as the update applies it: the task definition's change a new
    revision, the service moved to it with its tasks replaced in the target group, the
    group's egress made the template's, the added VPC endpoint created; and back, the
    endpoint deleted. Fails without those types in ``UPDATES`` (the update refuses them,
    naming them), without the service following the replaced task definition, or without
    the tasks replaced (the old addresses stay registered), or when the group's other rules
    are revoked with its inline ones (the clean-up's preflight found the ALB's egress gone)."""
    aws = clients(moto, moto, "us-east-1")
    vpc = aws("ec2").describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])
    vpc_id = vpc["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in aws("ec2").describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]][:2]  # fmt: skip
    stack = "QueryService-hop"
    first = _service_template(subnets, vpc_id, source="internal_api", endpoint=False)
    (tmp_path / "one").mkdir()
    done = deploy(_cdk_out(tmp_path / "one", first, stack), stack, aws=aws, account="123456789012",
                  region="us-east-1")  # fmt: skip
    assert done.values is not None
    service, group = done.values.ref("Service"), done.values.ref("Tasks")
    cluster = done.values.ref("Cluster")
    started = done.tasks["Service"]
    assert len(started) == 2
    assert _targets(aws, group) == _addresses(aws, started)

    hop = _service_template(subnets, vpc_id, source="lambda", endpoint=True)
    (tmp_path / "two").mkdir()
    changes = update(_cdk_out(tmp_path / "two", hop, stack), done, aws=aws)
    assert {c.logical_id: c.type for c in changes} == {
        "Definition": "AWS::ECS::TaskDefinition",
        "Service": "AWS::ECS::Service",
        "Sg": "AWS::EC2::SecurityGroup",
        "LambdaEndpoint": "AWS::EC2::VPCEndpoint",
    }
    running = aws("ecs").describe_services(cluster=cluster, services=[service])["services"][0]
    assert running["taskDefinition"].endswith("/service:2")
    definition = aws("ecs").describe_task_definition(taskDefinition=running["taskDefinition"])
    container = definition["taskDefinition"]["containerDefinitions"][0]
    assert container["environment"] == [{"name": "RESULT_SOURCE", "value": "lambda"}]
    assert container["logConfiguration"]["options"]["awslogs-group"] == "tasks"
    replaced = done.tasks["Service"]
    assert len(replaced) == 2
    assert not set(replaced) & set(started)
    assert _targets(aws, group) == _addresses(aws, replaced)  # the old ones deregistered
    rules = aws("ec2").describe_security_groups(GroupIds=[done.values.ref("Sg")])
    egress = rules["SecurityGroups"][0]["IpPermissionsEgress"]
    cidrs = sorted(r["CidrIp"] for rule in egress for r in rule["IpRanges"])
    assert cidrs == ["10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16"]  # the resource's rule kept
    endpoint = done.values.ref("LambdaEndpoint")
    found = aws("ec2").describe_vpc_endpoints(VpcEndpointIds=[endpoint])["VpcEndpoints"]
    assert found[0]["ServiceName"] == "com.amazonaws.us-east-1.lambda"

    (tmp_path / "three").mkdir()
    back = update(_cdk_out(tmp_path / "three", first, stack), done, aws=aws)
    assert [c.done for c in back if c.logical_id == "LambdaEndpoint"] == [f"{endpoint} deleted"]
    running = aws("ecs").describe_services(cluster=cluster, services=[service])["services"][0]
    assert running["taskDefinition"].endswith("/service:3")
    left = aws("ec2").describe_vpc_endpoints()["VpcEndpoints"]
    assert all(e["State"].lower() == "deleted" for e in left if e["VpcEndpointId"] == endpoint)


def test_an_update_beyond_what_it_changes_fails_naming_it(tmp_path, moto) -> None:
    """A service's change other than its task definition (here its task count) is not one
    the update makes: it fails naming the property, before anything is changed."""
    aws = clients(moto, moto, "us-east-1")
    vpc = aws("ec2").describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])
    vpc_id = vpc["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in aws("ec2").describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]][:2]  # fmt: skip
    first = _service_template(subnets, vpc_id, source="internal_api", endpoint=False)
    (tmp_path / "one").mkdir()
    stack = "QueryService-count"
    done = deploy(_cdk_out(tmp_path / "one", first, stack), stack, aws=aws,
                  account="123456789012", region="us-east-1")  # fmt: skip
    more = json.loads(json.dumps(first))
    more["Resources"]["Service"]["Properties"]["DesiredCount"] = 3
    (tmp_path / "two").mkdir()
    with pytest.raises(DeployError, match=r"does not change Service \(AWS::ECS::Service: its "
                       r"DesiredCount\)"):  # fmt: skip
        update(_cdk_out(tmp_path / "two", more, stack), done, aws=aws)
