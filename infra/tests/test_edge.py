"""Edge: the Query Lambda, its egress, alias live and its canary."""

from __future__ import annotations

import re

import pytest
from aws_cdk.assertions import Match, Template


@pytest.fixture(scope="module")
def synth(bare_stack, service_parts):
    from query_infra.edge import Edge

    def synth(config) -> Template:
        stack = bare_stack()
        parts = service_parts(stack, config)
        Edge(
            stack,
            "Edge",
            config=config,
            network=parts["network"],
            service=parts["service"],
            account=parts["account"],
            caller_proof_keys=parts["data"].caller_proof_keys,
        )
        return Template.from_stack(stack)

    return synth


@pytest.fixture(scope="module")
def ecs(synth, make_config) -> Template:
    return synth(make_config(reserved_concurrency=9, owner_claim="principalId"))


@pytest.fixture(scope="module")
def eks(synth, make_config, context) -> Template:
    """The running account's first deploy: the new version still points at EKS."""
    return synth(
        make_config(
            traffic_target="eks",
            old_eks_handler_url=context["oldEksHandlerUrl"],
            old_eks_handler_peer=context["oldEksHandlerPeer"],
        )
    )


def _query_function(template: Template) -> dict:
    (fn,) = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "lambdas.query.handler.handler"}}
    ).values()
    return fn["Properties"]


def _lambda_group(template: Template) -> tuple[str, dict]:
    ((logical_id, group),) = [
        (k, g)
        for k, g in template.find_resources("AWS::EC2::SecurityGroup").items()
        if k.startswith("EdgeQueryLambdaSg")
    ]
    return logical_id, group["Properties"]


def test_query_lambda_in_the_vpc_points_at_the_alb(ecs):
    fn = _query_function(ecs)
    group, _ = _lambda_group(ecs)
    assert fn["VpcConfig"]["SecurityGroupIds"] == [{"Fn::GetAtt": [group, "GroupId"]}]
    assert "ServiceInternalAlb" in str(fn["Environment"]["Variables"]["EKS_HANDLER_URL"])
    assert fn["ReservedConcurrentExecutions"] == 9
    assert fn["Environment"]["Variables"]["OWNER_CLAIM"] == "principalId"


def test_query_lambda_points_at_the_old_eks_url_in_eks_mode(eks, context):
    variables = _query_function(eks)["Environment"]["Variables"]
    assert variables["EKS_HANDLER_URL"] == context["oldEksHandlerUrl"]
    assert "OWNER_CLAIM" not in variables  # the Query Lambda's default for the authorizer


def test_while_both_sides_serve_a_page_can_follow_its_token_to_either(eks, ecs, context):
    """Decision 11: both versions know both sides while the old handler is reachable."""
    variables = _query_function(eks)["Environment"]["Variables"]
    assert variables["OLD_EKS_HANDLER_URL"] == context["oldEksHandlerUrl"]
    assert "ServiceInternalAlb" in str(variables["SERVICE_URL"])
    # after the clean-up (no old handler): one target, nothing to follow
    assert {"SERVICE_URL", "OLD_EKS_HANDLER_URL"}.isdisjoint(
        _query_function(ecs)["Environment"]["Variables"]
    )


def _egress(template: Template) -> set[tuple[str, int, int]]:
    """(target, from, to) of every egress rule of the Query Lambda's group, inline or not;
    a target in the stack is named by its logical id's first 12 characters."""
    group_id, group = _lambda_group(template)
    rules = list(group.get("SecurityGroupEgress", []))
    rules += [
        r["Properties"]
        for r in template.find_resources("AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"]["Fn::GetAtt"][0] == group_id
    ]
    out = set()
    for rule in rules:
        target = (
            rule.get("CidrIp")
            or rule.get("DestinationPrefixListId")
            or rule.get("DestinationSecurityGroupId")
        )
        if isinstance(target, dict):
            target = target["Fn::GetAtt"][0][:12]
        out.add((target, rule["FromPort"], rule["ToPort"]))
    return out


#: The VPC endpoints (execute-api, the shared ones, S3's prefix list): Network.admit's rules,
#: for Secrets Manager (the caller proof keys, docs/contract.md#caller-proof).
ENDPOINTS = {("NetworkS3Pre", 443, 443), ("NetworkShare", 443, 443), ("NetworkExecu", 443, 443)}


def test_ecs_mode_without_the_peer_may_reach_the_alb_and_the_endpoints_only(ecs):
    assert _egress(ecs) == {("ServiceAlbSg", 80, 80), *ENDPOINTS}


def test_eks_mode_may_reach_exactly_the_old_handler(eks, context):
    # The URL's port (8080), to the named security group only, besides the ALB.
    assert _egress(eks) == {
        ("ServiceAlbSg", 80, 80),
        (context["oldEksHandlerPeer"], 8080, 8080),
        *ENDPOINTS,
    }


def test_the_old_handler_stays_reachable_while_named(synth, make_config):
    # After the switch a canary can still roll back to the EKS version: while the peer is in
    # the context (ecs mode), the egress stays; the clean-up removes the key and the rule.
    window = synth(make_config(old_eks_handler_peer="10.20.64.0/20", old_eks_handler_port=8443))
    assert _egress(window) == {
        ("ServiceAlbSg", 80, 80),
        ("10.20.64.0/20", 8443, 8443),
        *ENDPOINTS,
    }


def _canary_alarms(template: Template) -> dict[str, dict]:
    (group,) = template.find_resources("AWS::CodeDeploy::DeploymentGroup").values()
    names = group["Properties"]["AlarmConfiguration"]["Alarms"]
    refs = {name["Name"]["Ref"] for name in names}
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    return {logical_id: alarms[logical_id]["Properties"] for logical_id in refs}


def test_live_alias_is_shifted_by_a_canary_that_rolls_back_on_alarm(ecs):
    ecs.has_resource(
        "AWS::Lambda::Alias",
        {
            "Properties": Match.object_like({"Name": "live"}),
            "UpdatePolicy": {"CodeDeployLambdaAliasUpdate": Match.any_value()},
        },
    )
    ecs.has_resource_properties(
        "AWS::CodeDeploy::DeploymentGroup",
        {
            "DeploymentConfigName": Match.string_like_regexp("Canary10Percent5Minutes"),
            "AlarmConfiguration": Match.object_like({"Enabled": True}),
            "AutoRollbackConfiguration": {
                "Enabled": True,
                "Events": Match.array_with(["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]),
            },
        },
    )
    alarms = _canary_alarms(ecs)
    assert sorted(re.sub(r"^EdgeRollback|[0-9A-F]{8}$", "", k) for k in alarms) == [
        "AlbErrorRate",
        "NewVersionErrorRate",
        "NewVersionExtra4xx",
        "PublicApi5xxRate",
    ]
    # The alarms are updated to the new version before CodeDeploy moves traffic to it.
    (alias,) = ecs.find_resources("AWS::Lambda::Alias").values()
    assert set(alarms) <= set(alias["DependsOn"])


def test_the_canary_alarms_on_error_rates_of_the_new_version(ecs):
    alarms = _canary_alarms(ecs)
    ((_, rate),) = [(k, a) for k, a in alarms.items() if "NewVersionErrorRate" in k]
    (expression,) = [m for m in rate["Metrics"] if "Expression" in m]
    assert expression["Expression"].startswith("IF(requests >= 20, 100 * (FILL(answered5xx, 0)")
    assert expression["ReturnData"] is True
    by_id = {m["Id"]: m for m in rate["Metrics"] if "MetricStat" in m}
    requests = by_id["requests"]["MetricStat"]["Metric"]
    assert requests["MetricName"] == "Invocations"
    dimensions = {d["Name"]: d["Value"] for d in requests["Dimensions"]}
    version = dimensions["ExecutedVersion"]["Fn::GetAtt"]
    assert version[1] == "Version"
    answered = by_id["answered5xx"]["MetricStat"]["Metric"]
    assert answered["MetricName"] == "QueryLambda5xx"
    assert answered["Dimensions"] == [{"Name": "Version", "Value": {"Fn::GetAtt": version}}]
    assert rate["Threshold"] == 5
    assert rate["TreatMissingData"] == "notBreaching"


def test_every_canary_count_comes_from_a_metric_filter_on_the_lambdas_log_group(ecs):
    filters = ecs.find_resources("AWS::Logs::MetricFilter")
    names = {f["Properties"]["MetricTransformations"][0]["MetricName"] for f in filters.values()}
    assert names == {"QueryLambda5xx", "QueryLambda4xx", "QueryLambda4xxAllVersions"}
    # test_log_filters.py runs every pattern against the Lambda's real log lines.


def test_with_a_certificate_the_lambda_calls_the_name_it_covers(synth, make_config):
    template = synth(
        make_config(
            alb_certificate_arn=(
                "arn:aws:acm:ap-northeast-1:123456789012:certificate/"
                "0b9f6f1e-1111-2222-3333-444455556666"
            ),
            alb_host_name="query.internal.example.com",
            alb_hosted_zone_id="Z0123456789ABCDEFGHIJ",
        )
    )
    environment = _query_function(template)["Environment"]["Variables"]
    assert environment["EKS_HANDLER_URL"] == "https://query.internal.example.com"


def test_the_query_lambda_reads_the_caller_proof_keys_and_nothing_else(ecs):
    """docs/contract.md#caller-proof: GetSecretValue on that secret's ARN only."""
    variables = _query_function(ecs)["Environment"]["Variables"]
    assert variables["CALLER_PROOF_SECRET_ARN"]["Ref"].startswith("DataCallerProofKeys")
    statements = [
        statement
        for policy in ecs.find_resources("AWS::IAM::Policy").values()
        if "EdgeQuery" in str(policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "secretsmanager" in str(statement["Action"])
    ]
    (statement,) = statements
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    assert statement["Resource"]["Ref"].startswith("DataCallerProofKeys")
