"""InternalApi: the private API, its one caller, and the Query Result Lambda behind it."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match, Template
from query_infra.internal_api import InternalApi


@pytest.fixture(scope="module")
def synth(api_parts):
    def synth(stack, config) -> tuple[Template, InternalApi]:
        api = api_parts(stack, config)["internal_api"]
        return Template.from_stack(stack), api

    return synth


@pytest.fixture(scope="module")
def template(synth, bare_stack, make_config) -> Template:
    return synth(bare_stack(), make_config(reserved_concurrency=7))[0]


def _ref_of(template: Template, kind: str, prefix: str) -> str:
    (logical_id,) = [k for k in template.find_resources(kind) if k.startswith(prefix)]
    return logical_id


def test_private_api_is_bound_to_the_endpoint_and_admits_only_the_caller(template):
    endpoint = _ref_of(template, "AWS::EC2::VPCEndpoint", "NetworkExecuteApiEndpoint")
    caller = {"Fn::GetAtt": [_ref_of(template, "AWS::IAM::Role", "TaskRole"), "Arn"]}
    everyone = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "execute-api:Invoke",
        "Resource": "execute-api:/*",
    }
    template.has_resource_properties(
        "AWS::ApiGateway::RestApi",
        {
            "EndpointConfiguration": {"Types": ["PRIVATE"], "VpcEndpointIds": [{"Ref": endpoint}]},
            "Policy": {
                "Statement": [
                    # Not through another endpoint (nor from outside the VPC) ...
                    {
                        **everyone,
                        "Sid": "DenyOtherEndpoints",
                        "Condition": {"StringNotEquals": {"aws:SourceVpce": {"Ref": endpoint}}},
                    },
                    # ... and nobody but the caller, whatever their own policies grant.
                    {
                        **everyone,
                        "Sid": "DenyOtherPrincipals",
                        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": caller}},
                    },
                    {
                        "Sid": "OnlyTheCallerOnlyTheRoute",
                        "Effect": "Allow",
                        "Principal": {"AWS": caller},
                        "Action": "execute-api:Invoke",
                        "Resource": "execute-api:/prod/POST/query/result",
                        "Condition": {"StringEquals": {"aws:SourceVpce": {"Ref": endpoint}}},
                    },
                ],
                "Version": "2012-10-17",
            },
        },
    )


def test_url_is_the_api_hostname_with_private_dns(synth, bare_stack, make_config):
    stack = bare_stack()
    _, api = synth(stack, make_config())
    assert stack.resolve(api.url) == stack.resolve(api.api.url)


def test_url_is_the_endpoint_specific_hostname_without_private_dns(synth, bare_stack, make_config):
    stack = bare_stack()
    _, api = synth(stack, make_config(execute_api_private_dns=False))
    parts = stack.resolve(api.url)["Fn::Join"][1]
    api_ref, endpoint_ref = parts[1], parts[3]
    assert parts[0] == "https://"
    assert api_ref["Ref"].startswith("InternalApiPrivateApi")
    assert parts[2] == "-"
    assert endpoint_ref["Ref"].startswith("NetworkExecuteApiEndpoint")
    assert parts[4] == ".execute-api."
    assert parts[-1].endswith("/prod/")


def test_query_result_lambda_reads_only_its_token_keys(template):
    secret = _ref_of(template, "AWS::SecretsManager::Secret", "DataTokenKeys")
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "lambdas.query_result.handler.handler",
            "ReservedConcurrentExecutions": 7,
            "Environment": {
                "Variables": Match.object_like({"NEXT_TOKEN_SECRET_ARN": {"Ref": secret}})
            },
        },
    )
    statements = _statements_of(template, "InternalApiQueryResultRole")
    secrets = [s for s in statements if "secretsmanager" in str(s["Action"])]
    assert secrets == [
        {"Action": "secretsmanager:GetSecretValue", "Effect": "Allow", "Resource": {"Ref": secret}}
    ]


def test_the_one_method_is_post_query_result_iam_authorized_lambda_proxy(template):
    template.resource_count_is("AWS::ApiGateway::Method", 1)
    function = _ref_of(template, "AWS::Lambda::Function", "InternalApiQueryResultFunction")
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "POST",
            "AuthorizationType": "AWS_IAM",
            "Integration": Match.object_like(
                {
                    "Type": "AWS_PROXY",
                    "Uri": Match.object_like(
                        {"Fn::Join": ["", Match.array_with([{"Fn::GetAtt": [function, "Arn"]}])]}
                    ),
                }
            ),
        },
    )


def test_caller_may_invoke_only_post_query_result(template):
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": Match.string_like_regexp("^TaskRole")}],
            "PolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Action": "execute-api:Invoke",
                            "Resource": {
                                "Fn::Join": ["", Match.array_with(["/prod/POST/query/result"])]
                            },
                        }
                    )
                ],
                "Version": "2012-10-17",
            },
        },
    )


def test_query_result_lambda_may_only_query_the_table(template):
    table = _ref_of(template, "AWS::DynamoDB::Table", "DataResultsTable")
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "lambdas.query_result.handler.handler",
            "Runtime": "python3.12",
            "Environment": {
                "Variables": Match.object_like(
                    {"ENVIRONMENT": "production", "RESULTS_TABLE_NAME": {"Ref": table}}
                )
            },
        },
    )
    statements = _statements_of(template, "InternalApiQueryResultRole")
    dynamo = [s for s in statements if "dynamodb" in str(s["Action"])]
    assert dynamo == [
        {"Action": "dynamodb:Query", "Effect": "Allow", "Resource": {"Fn::GetAtt": [table, "Arn"]}}
    ]


def test_stage_prod_with_access_logs(template):
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "prod",
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "TracingEnabled": True,
        },
    )


def _statements_of(template: Template, role_prefix: str) -> list[dict]:
    role = _ref_of(template, "AWS::IAM::Role", role_prefix)
    policies = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role}]}}
    )
    return [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
