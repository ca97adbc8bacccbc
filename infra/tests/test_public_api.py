"""PublicApi: the created API's authorizer and throttling, or the existing API's grant."""

from __future__ import annotations

import json

import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template
from query_infra.common import ApiGatewayAccount
from query_infra.public_api import PublicApi, source_arn_path

POOL = "arn:aws:cognito-idp:ap-northeast-1:123456789012:userpool/ap-northeast-1_AbCdEf123"
AUTHORIZER = "arn:aws:lambda:ap-northeast-1:123456789012:function:edge-authorizer"


@pytest.fixture(scope="module")
def synth(bare_stack):
    def synth(config) -> tuple[Template, PublicApi]:
        stack = bare_stack(region="ap-northeast-1")
        function = lambda_.Function(
            stack,
            "Query",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context): pass"),
        )
        alias = lambda_.Alias(stack, "Live", alias_name="live", version=function.current_version)
        account = ApiGatewayAccount(stack, "Account")
        public = PublicApi(stack, "Public", config=config, alias=alias, account=account)
        return Template.from_stack(stack), public

    return synth


def _methods(template: Template) -> list[dict]:
    methods = template.find_resources(
        "AWS::ApiGateway::Method", {"Properties": {"HttpMethod": "ANY"}}
    )
    assert len(methods) == 2  # / and /{proxy+}: the Query Lambda answers 404 off the contract
    return [m["Properties"] for m in methods.values()]


def test_iam_is_the_default_authorization(synth, make_config):
    template, public = synth(make_config())
    assert {m["AuthorizationType"] for m in _methods(template)} == {"AWS_IAM"}
    assert public.url is not None
    for method in _methods(template):
        assert "Live" in str(method["Integration"]["Uri"])  # the alias, not $LATEST


def test_cognito_user_pool_authorizer(synth, make_config):
    template, _ = synth(make_config(public_auth="cognito", cognito_user_pool_arn=POOL))
    template.has_resource_properties(
        "AWS::ApiGateway::Authorizer", {"Type": "COGNITO_USER_POOLS", "ProviderARNs": [POOL]}
    )
    assert {m["AuthorizationType"] for m in _methods(template)} == {"COGNITO_USER_POOLS"}


def test_lambda_authorizer(synth, make_config):
    template, _ = synth(make_config(public_auth="lambda", authorizer_function_arn=AUTHORIZER))
    template.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {"Type": "TOKEN", "IdentitySource": "method.request.header.Authorization"},
    )
    assert {m["AuthorizationType"] for m in _methods(template)} == {"CUSTOM"}
    assert AUTHORIZER in str(template.find_resources("AWS::ApiGateway::Authorizer"))


def test_none_only_when_chosen_and_then_named(synth, make_config):
    template, public = synth(make_config(public_auth="none"))
    assert {m["AuthorizationType"] for m in _methods(template)} == {"NONE"}
    assert public.api is not None
    warnings = [entry.data for entry in public.api.node.metadata if entry.type == "aws:cdk:warning"]
    assert any("publicAuth=none" in str(w) for w in warnings)


def test_stage_throttling_from_the_context(synth, make_config):
    template, _ = synth(make_config(throttle_rate_limit=25.0, throttle_burst_limit=60))
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "MethodSettings": Match.array_with(
                [
                    Match.object_like(
                        {
                            "HttpMethod": "*",
                            "ResourcePath": "/*",
                            "ThrottlingRateLimit": 25,
                            "ThrottlingBurstLimit": 60,
                        }
                    )
                ]
            )
        },
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/query/result", "/query/result"), ("/query/marketing/{proxy+}", "/query/marketing/*")],
)
def test_source_arn_paths(path, expected):
    assert source_arn_path(path) == expected


def test_existing_api_creates_nothing_and_may_invoke_the_alias_on_its_paths(synth, make_config):
    template, public = synth(
        make_config(existing_public_api_id="a1b2c3d4e5", existing_public_api_stage="v1")
    )
    template.resource_count_is("AWS::ApiGateway::RestApi", 0)
    assert public.api is None
    assert public.url is None
    permissions = template.find_resources("AWS::Lambda::Permission")
    arns = sorted(
        "".join(
            p if isinstance(p, str) else "{" + next(iter(p.values())) + "}"
            for p in perm["Properties"]["SourceArn"]["Fn::Join"][1]
        )
        for perm in permissions.values()
    )
    assert arns == [
        "arn:{AWS::Partition}:execute-api:ap-northeast-1:123456789012:a1b2c3d4e5/v1/*/query/marketing",
        "arn:{AWS::Partition}:execute-api:ap-northeast-1:123456789012:a1b2c3d4e5/v1/*/query/marketing/*",
        "arn:{AWS::Partition}:execute-api:ap-northeast-1:123456789012:a1b2c3d4e5/v1/*/query/result",
    ]
    for permission in permissions.values():
        props = permission["Properties"]
        assert props["Principal"] == "apigateway.amazonaws.com"
        assert props["FunctionName"]["Ref"].startswith("Live")  # alias live, not the function


def test_the_accounts_api_gateway_logging_role_outlives_the_stack(bare_stack):
    # AWS::ApiGateway::Account is the region's setting for every API: `cdk destroy` must not
    # leave it naming a deleted role.
    stack = bare_stack()
    ApiGatewayAccount(stack, "Account")
    template = Template.from_stack(stack)
    for kind in ("AWS::ApiGateway::Account", "AWS::IAM::Role"):
        (resource,) = template.find_resources(kind).values()
        assert resource["DeletionPolicy"] == "Retain", kind
        assert resource["UpdateReplacePolicy"] == "Retain", kind


def test_the_created_apis_stage_gets_the_per_caller_limit(synth, make_config):
    template, public = synth(make_config(caller_rate_limit=200))
    assert public.rate_limit is not None
    template.has_resource_properties(
        "AWS::WAFv2::WebACLAssociation",
        {"ResourceArn": Match.object_like({"Fn::Join": Match.any_value()})},
    )
    (association,) = template.find_resources("AWS::WAFv2::WebACLAssociation").values()
    arn = json.dumps(association["Properties"]["ResourceArn"])
    assert "/restapis/" in arn
    assert "/stages/" in arn
    (stage_id,) = template.find_resources("AWS::ApiGateway::Stage")
    assert stage_id in arn  # the created stage, by reference


def test_the_existing_apis_stage_gets_the_per_caller_limit(synth, make_config):
    template, public = synth(
        make_config(existing_public_api_id="a1b2c3d4e5", existing_public_api_stage="v1")
    )
    assert public.rate_limit is not None
    (association,) = template.find_resources("AWS::WAFv2::WebACLAssociation").values()
    parts = association["Properties"]["ResourceArn"]["Fn::Join"][1]
    assert "".join(p for p in parts if isinstance(p, str)).endswith(
        ":apigateway:ap-northeast-1::/restapis/a1b2c3d4e5/stages/v1"
    )


def test_no_per_caller_limit_when_the_context_turns_it_off(synth, make_config):
    template, public = synth(make_config(caller_rate_limit=0))
    assert public.rate_limit is None
    template.resource_count_is("AWS::WAFv2::WebACL", 0)
