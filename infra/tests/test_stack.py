"""Assertions on the synthesized templates, one per point of the infrastructure issue."""

from __future__ import annotations

import json
from typing import Any

import pytest


def text(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


# -- network -----------------------------------------------------------------------------------
def test_fresh_vpc_is_private_with_flow_logs(fresh):
    assert len(fresh.resources("AWS::EC2::VPC")) == 1
    assert fresh.resources("AWS::EC2::NatGateway") == {}
    assert fresh.resources("AWS::EC2::InternetGateway") == {}
    assert len(fresh.resources("AWS::EC2::FlowLog")) == 1


def test_existing_vpc_is_imported_not_created(existing):
    assert existing.resources("AWS::EC2::VPC") == {}
    endpoint = next(
        e
        for e in existing.resources("AWS::EC2::VPCEndpoint").values()
        if "execute-api" in text(e["Properties"]["ServiceName"])
    )
    assert endpoint["Properties"]["VpcId"] == "vpc-0123456789abcdef0"


def test_execute_api_endpoint_with_private_dns_and_dynamodb_gateway(fresh):
    endpoints = fresh.resources("AWS::EC2::VPCEndpoint").values()
    execute_api = [e for e in endpoints if "execute-api" in text(e["Properties"]["ServiceName"])]
    assert len(execute_api) == 1
    assert execute_api[0]["Properties"]["PrivateDnsEnabled"] is True
    assert execute_api[0]["Properties"]["VpcEndpointType"] == "Interface"
    dynamo = [e for e in endpoints if "dynamodb" in text(e["Properties"]["ServiceName"])]
    assert [e["Properties"]["VpcEndpointType"] for e in dynamo] == ["Gateway"]


def _ingress(synth) -> list[dict[str, Any]]:
    rules = [r["Properties"] for r in synth.resources("AWS::EC2::SecurityGroupIngress").values()]
    for group in synth.resources("AWS::EC2::SecurityGroup").values():
        rules += group["Properties"].get("SecurityGroupIngress", [])
    return rules


@pytest.mark.parametrize("variant", ["fresh", "existing"])
def test_no_ingress_from_anywhere(variant, request):
    synth = request.getfixturevalue(variant)
    for rule in _ingress(synth):
        assert rule.get("CidrIp") not in ("0.0.0.0/0",), rule
        assert rule.get("CidrIpv6") not in ("::/0",), rule


def _sg_id(synth, description_start: str) -> str:
    return next(
        key
        for key, group in synth.resources("AWS::EC2::SecurityGroup").items()
        if group["Properties"]["GroupDescription"].startswith(description_start)
    )


def test_security_groups_are_chained(fresh):
    lambda_sg = _sg_id(fresh, "Query Lambda")
    alb_sg = _sg_id(fresh, "Internal ALB")
    tasks_sg = _sg_id(fresh, "ECS tasks")
    endpoints_sg = _sg_id(fresh, "Interface VPC endpoints")
    ingress = list(fresh.resources("AWS::EC2::SecurityGroupIngress").values())
    by_target = {}
    for rule in ingress:
        props = rule["Properties"]
        target = props["GroupId"]["Fn::GetAtt"][0]
        source = props["SourceSecurityGroupId"]["Fn::GetAtt"][0]
        by_target.setdefault(target, set()).add((source, props["FromPort"], props["ToPort"]))
    assert by_target[alb_sg] == {(lambda_sg, 80, 80)}
    assert by_target[tasks_sg] == {(alb_sg, 8000, 8000)}
    assert by_target[endpoints_sg] == {(tasks_sg, 443, 443)}


# -- ECS ---------------------------------------------------------------------------------------
def test_ecr_repository_scans_and_expires_images(fresh):
    repo = fresh.one("AWS::ECR::Repository")["Properties"]
    assert repo["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert "LifecyclePolicyText" in repo["LifecyclePolicy"]


def test_cluster_has_container_insights(fresh):
    settings = fresh.one("AWS::ECS::Cluster")["Properties"]["ClusterSettings"]
    assert settings[0]["Name"] == "containerInsights"
    assert settings[0]["Value"] in ("enabled", "enhanced")


def _container(synth) -> dict[str, Any]:
    (container,) = synth.one("AWS::ECS::TaskDefinition")["Properties"]["ContainerDefinitions"]
    return container


def test_task_definition(fresh, existing):
    props = fresh.one("AWS::ECS::TaskDefinition")["Properties"]
    assert (props["Cpu"], props["Memory"]) == ("512", "1024")
    assert existing.one("AWS::ECS::TaskDefinition")["Properties"]["Cpu"] == "1024"
    container = _container(fresh)
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["ENVIRONMENT"] == "production"
    assert env["INTERNAL_API_AUTH"] == "iam"
    assert "PrivateApi" in text(env["INTERNAL_API_URL"])  # wired to the API, not pasted
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert container["StopTimeout"] == 30
    groups = fresh.resources("AWS::Logs::LogGroup").values()
    assert all(g["Properties"].get("RetentionInDays") for g in groups)


def test_image_from_the_dockerfile_or_a_tag_in_the_repository(fresh, existing):
    assert "container-assets" in text(_container(fresh)["Image"])  # built from the Dockerfile
    image = text(_container(existing)["Image"])
    assert "ServiceImages" in image  # the stack's ECR repository
    assert "2026.11.26-1" in image


def _policies_of(synth, role_fragment: str) -> list[dict[str, Any]]:
    out = []
    for policy in synth.resources("AWS::IAM::Policy").values():
        roles = text(policy["Properties"].get("Roles", []))
        if role_fragment in roles:
            out += policy["Properties"]["PolicyDocument"]["Statement"]
    return out


def test_task_role_may_only_invoke_post_query_result(fresh, existing):
    statements = _policies_of(fresh, "ServiceTaskRole")
    assert [s["Action"] for s in statements] == ["execute-api:Invoke"]
    assert "/POST/query/result" in text(statements[0]["Resource"])
    rollback = _policies_of(existing, "ServiceTaskRole")
    assert {json.dumps(s["Action"]) for s in rollback} == {
        '"execute-api:Invoke"',
        '"lambda:InvokeFunction"',
    }


def test_service_behind_internal_alb_with_rollback_and_scaling(fresh):
    service = fresh.one("AWS::ECS::Service")["Properties"]
    breaker = service["DeploymentConfiguration"]["DeploymentCircuitBreaker"]
    assert breaker == {"Enable": True, "Rollback": True}
    alb = fresh.one("AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]
    assert alb["Scheme"] == "internal"
    target_group = fresh.one("AWS::ElasticLoadBalancingV2::TargetGroup")["Properties"]
    assert target_group["HealthCheckPath"] == "/health"
    metrics = [
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"][
            "PredefinedMetricSpecification"
        ]["PredefinedMetricType"]
        for p in fresh.resources("AWS::ApplicationAutoScaling::ScalingPolicy").values()
    ]
    assert sorted(metrics) == ["ALBRequestCountPerTarget", "ECSServiceAverageCPUUtilization"]


def test_alb_access_logs_when_the_region_is_known(fresh, existing):
    def attributes(synth):
        props = synth.one("AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]
        return {a["Key"]: a["Value"] for a in props.get("LoadBalancerAttributes", [])}

    assert attributes(existing).get("access_logs.s3.enabled") == "true"
    assert attributes(fresh).get("access_logs.s3.enabled") is None


# -- private API -------------------------------------------------------------------------------
def _api(synth, name_start: str) -> tuple[str, dict[str, Any]]:
    return next(
        (key, api)
        for key, api in synth.resources("AWS::ApiGateway::RestApi").items()
        if text(api["Properties"]["Name"]).startswith(f'"{name_start}')
    )


def test_private_api_is_bound_to_the_vpc_endpoint(fresh):
    _, api = _api(fresh, "query-internal")
    props = api["Properties"]
    assert props["EndpointConfiguration"]["Types"] == ["PRIVATE"]
    assert "ExecuteApiEndpoint" in text(props["EndpointConfiguration"]["VpcEndpointIds"])
    deny, allow = props["Policy"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert "aws:SourceVpce" in deny["Condition"]["StringNotEquals"]
    assert allow["Effect"] == "Allow"
    assert allow["Resource"] == "execute-api:/prod/POST/query/result"
    assert "ServiceTaskRole" in text(allow["Principal"])  # only the service's task role


def test_private_api_method_is_iam_authorized_lambda_proxy(fresh):
    api_key, _ = _api(fresh, "query-internal")
    methods = [
        m["Properties"]
        for m in fresh.resources("AWS::ApiGateway::Method").values()
        if m["Properties"]["RestApiId"] == {"Ref": api_key}
    ]
    (method,) = methods
    assert method["HttpMethod"] == "POST"
    assert method["AuthorizationType"] == "AWS_IAM"
    assert method["Integration"]["Type"] == "AWS_PROXY"
    assert "QueryResultFunction" in text(method["Integration"]["Uri"])


def test_stages_are_prod_with_access_logs_and_the_url_is_an_output(fresh):
    stages = [s["Properties"] for s in fresh.resources("AWS::ApiGateway::Stage").values()]
    assert [s["StageName"] for s in stages] == ["prod", "prod"]
    assert all("DestinationArn" in s["AccessLogSetting"] for s in stages)
    assert "InternalApiUrl" in fresh.template["Outputs"]


# -- Lambdas -----------------------------------------------------------------------------------
def _function(synth, handler: str) -> dict[str, Any]:
    return next(
        f["Properties"]
        for f in synth.resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == handler
    )


def test_query_result_lambda_reads_only_the_table(fresh):
    fn = _function(fresh, "lambdas.query_result.handler.handler")
    assert fn["Runtime"] == "python3.12"
    assert "RESULTS_TABLE_NAME" in fn["Environment"]["Variables"]
    statements = _policies_of(fresh, "QueryResultRole")
    dynamo = [s for s in statements if "dynamodb" in text(s["Action"])]
    assert [s["Action"] for s in dynamo] == ["dynamodb:Query"]
    assert "index" not in text(dynamo[0]["Resource"])


def test_existing_table_is_imported_and_never_created(fresh, existing):
    assert existing.resources("AWS::DynamoDB::Table") == {}
    fn = _function(existing, "lambdas.query_result.handler.handler")
    assert fn["Environment"]["Variables"]["RESULTS_TABLE_NAME"] == "query-results"
    table = fresh.one("AWS::DynamoDB::Table")
    assert table["DeletionPolicy"] == "Retain"
    props = table["Properties"]
    assert {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]} == {
        "user_id": "HASH",
        "result_id": "RANGE",
    }
    assert [i["IndexName"] for i in props["GlobalSecondaryIndexes"]] == ["marketing_id-index"]
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_query_lambda_in_the_vpc_points_at_the_alb_or_the_old_eks_url(fresh, existing):
    fn = _function(fresh, "lambdas.query.handler.handler")
    assert fn["VpcConfig"]["SecurityGroupIds"]
    assert "InternalAlb" in text(fn["Environment"]["Variables"]["EKS_HANDLER_URL"])
    old = _function(existing, "lambdas.query.handler.handler")
    assert old["Environment"]["Variables"]["EKS_HANDLER_URL"] == EXISTING_URL


EXISTING_URL = "http://eks-query-handler.internal.example:8080"


def test_live_alias_shifted_by_a_codedeploy_canary_with_alarms(fresh):
    alias = fresh.one("AWS::Lambda::Alias")
    assert alias["Properties"]["Name"] == "live"
    assert "CodeDeployLambdaAliasUpdate" in alias["UpdatePolicy"]
    group = fresh.one("AWS::CodeDeploy::DeploymentGroup")["Properties"]
    assert "Canary10Percent5Minutes" in text(group["DeploymentConfigName"])
    assert len(group["AlarmConfiguration"]["Alarms"]) == 2
    assert set(group["AutoRollbackConfiguration"]["Events"]) >= {
        "DEPLOYMENT_FAILURE",
        "DEPLOYMENT_STOP_ON_ALARM",
    }


def test_public_api_proxies_to_the_live_alias(fresh):
    methods = [
        m["Properties"]
        for m in fresh.resources("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "ANY"
    ]
    assert methods
    assert all("QueryLive" in text(m["Integration"]["Uri"]) for m in methods)


# -- watching ----------------------------------------------------------------------------------
def test_alarms_cover_every_hop_and_one_dashboard(fresh):
    names = " ".join(fresh.resources("AWS::CloudWatch::Alarm"))
    for part in (
        "AlbTarget5xx",
        "AlbTargetP99",
        "EcsCpu",
        "EcsMemory",
        "PrivateApi5xx",
        "PrivateApiLatency",
        "QueryResultErrors",
        "QueryResultThrottles",
        "QueryResultDuration",
        "QueryErrors",
        "DynamoDbThrottles",
    ):
        assert part in names, part
    assert len(fresh.resources("AWS::CloudWatch::Dashboard")) == 1


def test_acknowledged_findings_all_have_reasons():
    from query_infra.stack import ACKNOWLEDGED

    assert ACKNOWLEDGED
    for path, rule, reason in ACKNOWLEDGED:
        assert len(reason) >= 40, (path, rule)
