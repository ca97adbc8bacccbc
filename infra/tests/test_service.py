"""Service: Fargate tasks behind the internal ALB, image, scaling, security groups."""

from __future__ import annotations

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match, Template


@pytest.fixture(scope="module")
def synth(bare_stack, service_parts):
    def synth(config, *, region: str | None = None) -> Template:
        stack = bare_stack(region=region)
        parts = service_parts(stack, config)
        peer = ec2.SecurityGroup(
            stack, "Peer", vpc=parts["network"].vpc, allow_all_outbound=False, description="client"
        )
        parts["service"].admit(peer)
        return Template.from_stack(stack)

    return synth


@pytest.fixture(scope="module")
def template(synth, make_config) -> Template:
    return synth(make_config())


@pytest.fixture(scope="module")
def rollback(synth, make_config, context) -> Template:
    """Image from a tag in the repository, the Lambda rollback source on, region known."""
    return synth(
        make_config(
            image_tag="2026.11.26-1",
            enable_lambda_rollback_source=True,
            task_cpu=1024,
            task_memory_mib=2048,
        ),
        region=context["region"],
    )


def _env(template: Template) -> dict:
    (task,) = template.find_resources("AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    return {e["Name"]: e["Value"] for e in container["Environment"]}


def test_repository_scans_and_expires_images(template):
    template.has_resource_properties(
        "AWS::ECR::Repository",
        {
            "ImageScanningConfiguration": {"ScanOnPush": True},
            "ImageTagMutability": "IMMUTABLE",
            "LifecyclePolicy": {
                "LifecyclePolicyText": Match.string_like_regexp("imageCountMoreThan")
            },
        },
    )


def test_cluster_has_container_insights(template):
    template.has_resource_properties(
        "AWS::ECS::Cluster",
        {
            "ClusterSettings": [
                {"Name": "containerInsights", "Value": Match.string_like_regexp("enabled|enhanced")}
            ]
        },
    )


def test_task_definition_size_logs_and_environment(template, rollback):
    template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "Cpu": "512",
            "Memory": "1024",
            "ContainerDefinitions": [
                Match.object_like(
                    {
                        "Image": Match.object_like(
                            {"Fn::Sub": Match.string_like_regexp("container-assets")}
                        ),
                        "LogConfiguration": Match.object_like({"LogDriver": "awslogs"}),
                        "StopTimeout": 30,
                        "ReadonlyRootFilesystem": True,
                    }
                )
            ],
        },
    )
    rollback.has_resource_properties("AWS::ECS::TaskDefinition", {"Cpu": "1024", "Memory": "2048"})
    env = _env(template)
    assert env["ENVIRONMENT"] == "production"
    assert env["INTERNAL_API_AUTH"] == "iam"
    assert env["RESULT_SOURCE"] == "internal_api"
    assert "InternalApiPrivateApi" in str(env["INTERNAL_API_URL"])  # wired, not pasted
    assert "QUERY_RESULT_LAMBDA_NAME" not in env


def test_image_from_a_tag_in_the_repository(rollback):
    (task,) = rollback.find_resources("AWS::ECS::TaskDefinition").values()
    image = str(task["Properties"]["ContainerDefinitions"][0]["Image"])
    assert "ServiceImages" in image
    assert "2026.11.26-1" in image


def test_rollback_source_may_invoke_the_query_result_lambda(template, rollback):
    assert "QUERY_RESULT_LAMBDA_NAME" in _env(rollback)
    statement = {
        "Action": "lambda:InvokeFunction",
        "Effect": "Allow",
        "Resource": {
            "Fn::GetAtt": [Match.string_like_regexp("^InternalApiQueryResultFunction"), "Arn"]
        },
    }
    rollback.has_resource_properties(
        "AWS::IAM::Policy",
        {"PolicyDocument": {"Statement": Match.array_with([statement]), "Version": "2012-10-17"}},
    )
    assert not template.find_resources(
        "AWS::IAM::Policy",
        {"Properties": {"PolicyDocument": {"Statement": Match.array_with([statement])}}},
    )


def test_service_rolls_back_and_scales_behind_an_internal_alb(template):
    template.has_resource_properties(
        "AWS::ECS::Service",
        {
            "DeploymentConfiguration": Match.object_like(
                {"DeploymentCircuitBreaker": {"Enable": True, "Rollback": True}}
            )
        },
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer", {"Scheme": "internal"}
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup", {"HealthCheckPath": "/health", "Port": 8000}
    )
    for metric in ("ALBRequestCountPerTarget", "ECSServiceAverageCPUUtilization"):
        template.has_resource_properties(
            "AWS::ApplicationAutoScaling::ScalingPolicy",
            {
                "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                    {
                        "PredefinedMetricSpecification": Match.object_like(
                            {"PredefinedMetricType": metric}
                        )
                    }
                )
            },
        )


def test_alb_access_logs_only_when_the_region_is_known(template, rollback):
    def enabled(t: Template) -> bool:
        (alb,) = t.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer").values()
        attrs = {a["Key"]: a["Value"] for a in alb["Properties"].get("LoadBalancerAttributes", [])}
        return attrs.get("access_logs.s3.enabled") == "true"

    assert enabled(rollback)
    assert not enabled(template)
    rollback.resource_count_is("AWS::S3::Bucket", 1)
    template.resource_count_is("AWS::S3::Bucket", 0)


_GROUPS = ("Peer", "ServiceAlbSg", "ServiceTasksSg", "NetworkEndpointsSg")


def _short(logical_id: str) -> str:
    return next(name for name in _GROUPS if logical_id.startswith(name))


def _rules(template: Template, kind: str) -> set[tuple[str, str, int]]:
    """(group, peer, port) of each standalone rule, groups named by logical id prefix."""
    out = set()
    for rule in template.find_resources(kind).values():
        props = rule["Properties"]
        peer = props.get("SourceSecurityGroupId") or props.get("DestinationSecurityGroupId")
        out.add(
            (
                _short(props["GroupId"]["Fn::GetAtt"][0]),
                _short(peer["Fn::GetAtt"][0]),
                props["FromPort"],
            )
        )
    return out


def test_security_groups_chain_peer_to_alb_to_tasks(template):
    assert _rules(template, "AWS::EC2::SecurityGroupIngress") == {
        ("ServiceAlbSg", "Peer", 80),
        ("ServiceTasksSg", "ServiceAlbSg", 8000),
        ("NetworkEndpointsSg", "ServiceTasksSg", 443),
    }
    assert _rules(template, "AWS::EC2::SecurityGroupEgress") == {
        ("Peer", "ServiceAlbSg", 80),
        ("ServiceAlbSg", "ServiceTasksSg", 8000),
    }
