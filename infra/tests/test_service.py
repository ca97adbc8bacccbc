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
                        # the stack's repository, the tag of the image built in CodeBuild
                        "Image": Match.object_like({"Fn::Join": Match.any_value()}),
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


def test_result_source_lambda_is_set_by_context_not_by_hand(synth, make_config):
    """Rolling back only the internal hop is a deploy with resultSource=lambda."""
    env = _env(
        synth(
            make_config(image_tag="t", enable_lambda_rollback_source=True, result_source="lambda")
        )
    )
    assert env["RESULT_SOURCE"] == "lambda"
    assert "QUERY_RESULT_LAMBDA_NAME" in env


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
    rollback.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": Match.object_like({"BlockPublicAcls": True}),
        },
    )
    template.resource_count_is("AWS::S3::Bucket", 0)


_GROUPS = (
    "Peer",
    "ServiceAlbSg",
    "ServiceTasksSg",
    "NetworkExecuteApiEndpointSg",
    "NetworkSharedEndpointsSg",
)


def _short(logical_id: str) -> str:
    return next(name for name in _GROUPS if logical_id.startswith(name))


def _rules(template: Template, kind: str) -> set[tuple[str, str, int]]:
    """(group, peer, port) of each standalone rule, groups named by logical id prefix."""
    out = set()
    for rule in template.find_resources(kind).values():
        props = rule["Properties"]
        peer = props.get("SourceSecurityGroupId") or props.get("DestinationSecurityGroupId")
        if peer is None:  # a prefix list or a CIDR: not a link between the stack's groups
            continue
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
        ("NetworkExecuteApiEndpointSg", "ServiceTasksSg", 443),
    }
    assert _rules(template, "AWS::EC2::SecurityGroupEgress") == {
        ("Peer", "ServiceAlbSg", 80),
        ("ServiceAlbSg", "ServiceTasksSg", 8000),
        ("ServiceTasksSg", "NetworkExecuteApiEndpointSg", 443),
        ("ServiceTasksSg", "NetworkSharedEndpointsSg", 443),
    }


def test_tasks_have_no_open_egress(template):
    (tasks,) = [
        g
        for k, g in template.find_resources("AWS::EC2::SecurityGroup").items()
        if k.startswith("ServiceTasksSg")
    ]
    for rule in tasks["Properties"].get("SecurityGroupEgress", []):
        assert rule.get("CidrIp") != "0.0.0.0/0", rule
    egress = template.find_resources("AWS::EC2::SecurityGroupEgress")
    tasks_rules = [
        r["Properties"]
        for r in egress.values()
        if r["Properties"]["GroupId"]["Fn::GetAtt"][0].startswith("ServiceTasksSg")
    ]
    assert {(r["FromPort"], r["ToPort"]) for r in tasks_rules} == {(443, 443)}
    assert any("DestinationPrefixListId" in r for r in tasks_rules)  # S3, for image layers


def test_listener_is_http_on_80_without_a_certificate(template):
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener", {"Port": 80, "Protocol": "HTTP"}
    )


CERTIFICATE = (
    "arn:aws:acm:ap-northeast-1:123456789012:certificate/0b9f6f1e-1111-2222-3333-444455556666"
)


def test_listener_is_https_on_443_with_a_certificate(synth, make_config):
    template = synth(
        make_config(
            alb_certificate_arn=CERTIFICATE,
            alb_host_name="query.internal.example.com",
            alb_hosted_zone_id="Z0123456789ABCDEFGHIJ",
        )
    )
    # The Query Lambda calls a name the certificate covers, an alias of the ALB in the zone.
    template.has_resource_properties(
        "AWS::Route53::RecordSet",
        {
            "Name": "query.internal.example.com.",
            "Type": "A",
            "HostedZoneId": "Z0123456789ABCDEFGHIJ",
            "AliasTarget": Match.object_like({"DNSName": Match.any_value()}),
        },
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 443,
            "Protocol": "HTTPS",
            "Certificates": [{"CertificateArn": CERTIFICATE}],
            "SslPolicy": Match.string_like_regexp("TLS"),
        },
    )
    template.resource_count_is("AWS::ElasticLoadBalancingV2::Listener", 1)
    ingress = _rules(template, "AWS::EC2::SecurityGroupIngress")
    assert ("ServiceAlbSg", "Peer", 443) in ingress
    assert ("ServiceAlbSg", "Peer", 80) not in ingress


def test_owner_check_follows_the_public_auth(template, synth, make_config):
    assert _env(template)["OWNER_CHECK"] == "true"  # publicAuth=iam by default
    assert _env(synth(make_config(public_auth="none")))["OWNER_CHECK"] == "false"


def test_the_task_reads_the_caller_proof_keys_from_their_secret(template, synth, make_config):
    """docs/contract.md#caller-proof: injected by ECS, never in the environment."""
    (task,) = template.find_resources("AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    (secret,) = container["Secrets"]
    assert secret["Name"] == "CALLER_PROOF_KEYS"
    assert secret["ValueFrom"]["Ref"].startswith("DataCallerProofKeys")
    assert "CALLER_PROOF_REQUIRED" not in _env(template)
    off = synth(make_config(caller_proof_required=False))
    assert _env(off)["CALLER_PROOF_REQUIRED"] == "false"
