"""InternalApi: the private API, its one caller, and the Query Result Lambda behind it."""

from __future__ import annotations

import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template
from query_infra.data import Data
from query_infra.internal_api import InternalApi
from query_infra.network import Network


@pytest.fixture(scope="module")
def template(bare_stack, make_config) -> Template:
    config = make_config()
    stack = bare_stack()
    network = Network(stack, "Network", config=config)
    data = Data(stack, "Data", config=config)
    caller = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    InternalApi(
        stack, "InternalApi", config=config, network=network, table=data.table, caller=caller
    )
    return Template.from_stack(stack)


def _ref_of(template: Template, kind: str, prefix: str) -> str:
    (logical_id,) = [k for k in template.find_resources(kind) if k.startswith(prefix)]
    return logical_id


def test_private_api_is_bound_to_the_endpoint_and_admits_only_the_caller(template):
    endpoint = _ref_of(template, "AWS::EC2::VPCEndpoint", "NetworkExecuteApiEndpoint")
    template.has_resource_properties(
        "AWS::ApiGateway::RestApi",
        {
            "EndpointConfiguration": {"Types": ["PRIVATE"], "VpcEndpointIds": [{"Ref": endpoint}]},
            "Policy": {
                "Statement": [
                    Match.object_like(
                        {
                            "Effect": "Deny",
                            "Condition": {"StringNotEquals": {"aws:SourceVpce": {"Ref": endpoint}}},
                        }
                    ),
                    Match.object_like(
                        {
                            "Effect": "Allow",
                            "Principal": {
                                "AWS": {"Fn::GetAtt": [Match.string_like_regexp("^Caller"), "Arn"]}
                            },
                            "Resource": "execute-api:/prod/POST/query/result",
                        }
                    ),
                ],
                "Version": "2012-10-17",
            },
        },
    )


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
            "Roles": [{"Ref": Match.string_like_regexp("^Caller")}],
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
    role = _ref_of(template, "AWS::IAM::Role", "InternalApiQueryResultRole")
    policies = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role}]}}
    )
    statements = [
        s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
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
