"""Edge: the Query Lambda, alias live and its canary, the public API."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match, Template
from query_infra.edge import Edge


def synth(bare_stack, service_parts, config) -> Template:
    stack = bare_stack()
    parts = service_parts(stack, config)
    Edge(stack, "Edge", config=config, network=parts["network"], service=parts["service"])
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def ecs(bare_stack, service_parts, make_config) -> Template:
    return synth(bare_stack, service_parts, make_config())


@pytest.fixture(scope="module")
def eks(bare_stack, service_parts, make_config, context) -> Template:
    url = context["oldEksHandlerUrl"]
    return synth(
        bare_stack, service_parts, make_config(traffic_target="eks", old_eks_handler_url=url)
    )


def _query_function(template: Template) -> dict:
    (fn,) = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "lambdas.query.handler.handler"}}
    ).values()
    return fn["Properties"]


def test_query_lambda_in_the_vpc_points_at_the_alb(ecs):
    fn = _query_function(ecs)
    (group,) = ecs.find_resources(
        "AWS::EC2::SecurityGroup",
        {"Properties": {"GroupDescription": "Query Lambda: calls the internal ALB only"}},
    )
    assert fn["VpcConfig"]["SecurityGroupIds"] == [{"Fn::GetAtt": [group, "GroupId"]}]
    assert "ServiceInternalAlb" in str(fn["Environment"]["Variables"]["EKS_HANDLER_URL"])


def test_query_lambda_points_at_the_old_eks_url_in_eks_mode(eks, context):
    url = _query_function(eks)["Environment"]["Variables"]["EKS_HANDLER_URL"]
    assert url == context["oldEksHandlerUrl"]


def test_live_alias_is_shifted_by_a_canary_that_rolls_back_on_two_alarms(ecs):
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
            "AlarmConfiguration": Match.object_like(
                {"Alarms": [Match.any_value(), Match.any_value()], "Enabled": True}
            ),
            "AutoRollbackConfiguration": {
                "Enabled": True,
                "Events": Match.array_with(["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]),
            },
        },
    )


def test_public_api_proxies_every_method_to_the_live_alias(ecs):
    methods = ecs.find_resources("AWS::ApiGateway::Method", {"Properties": {"HttpMethod": "ANY"}})
    assert len(methods) == 2  # / and /{proxy+}
    alias = next(iter(ecs.find_resources("AWS::Lambda::Alias")))
    for method in methods.values():
        assert alias in str(method["Properties"]["Integration"]["Uri"])
