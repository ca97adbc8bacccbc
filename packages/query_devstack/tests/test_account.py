"""The running account of accounts/running.toml, created in moto's server over HTTP and read
back through AWS's APIs as discover and the rehearsal read it."""

import tomllib

import boto3
import pytest
from query_devstack import (
    DEMO_USERS,
    RUNNING_ACCOUNT,
    DynamoDBEmulator,
    RunningAccount,
    load_account,
)


@pytest.fixture(scope="module")
def loaded() -> tuple[str, RunningAccount]:
    with DynamoDBEmulator() as moto:
        yield moto.endpoint_url, load_account(moto.endpoint_url)


def _client(url: str, service: str):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_the_public_api_proxies_every_path_to_the_old_lambda_behind_its_authorizer(loaded):
    url, account = loaded
    apigateway = _client(url, "apigateway")
    assert account.api_id == "a1b2c3d4e5"  # the fixture's id, as the runbook's examples
    stages = apigateway.get_stages(restApiId=account.api_id)["item"]
    assert [stage["stageName"] for stage in stages] == ["prod", "staging"]
    authorizer = apigateway.get_authorizer(
        restApiId=account.api_id, authorizerId=account.authorizer_id
    )
    assert authorizer["type"] == "COGNITO_USER_POOLS"
    methods = {}
    for resource in apigateway.get_resources(restApiId=account.api_id)["items"]:
        for verb in resource.get("resourceMethods", {}):
            method = apigateway.get_method(
                restApiId=account.api_id, resourceId=resource["id"], httpMethod=verb
            )
            methods[f"{verb} {resource['path']}"] = (
                method["authorizerId"],
                method["methodIntegration"]["type"],
                account.old_function_arn in method["methodIntegration"]["uri"],
            )
    proxied = (account.authorizer_id, "AWS_PROXY", True)
    assert methods == {
        "POST /query/result": proxied,
        "ANY /query/marketing": proxied,
        "ANY /query/marketing/{proxy+}": proxied,
    }


def test_each_stage_keeps_an_access_log_that_names_the_path_and_the_caller(loaded):
    """What retire-marketing counts the use of /query/marketing from, as a well-run account
    has it: each stage's own log group, a format with the resource path and the caller."""
    url, account = loaded
    apigateway, logs = _client(url, "apigateway"), _client(url, "logs")
    assert set(account.access_logs) == {"prod", "staging"}
    for stage, group in account.access_logs.items():
        settings = apigateway.get_stage(restApiId=account.api_id, stageName=stage)[
            "accessLogSettings"
        ]
        assert settings["destinationArn"].endswith(f":log-group:{group}")
        assert stage in group
        for variable in ("$context.resourcePath", "$context.authorizer.claims.sub"):
            assert variable in settings["format"]
        assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]


def test_the_old_lambda_runs_in_a_vpc_with_two_blocks_and_reaches_eks(loaded):
    url, account = loaded
    config = _client(url, "lambda").get_function_configuration(FunctionName="old-query-lambda")
    assert config["VpcConfig"]["SubnetIds"] == account.subnets
    assert config["Environment"]["Variables"]["EKS_HANDLER_URL"].startswith("http://query-handler")
    ec2 = _client(url, "ec2")
    (vpc,) = ec2.describe_vpcs(VpcIds=[account.vpc])["Vpcs"]
    blocks = [block["CidrBlock"] for block in vpc["CidrBlockAssociationSet"]]
    assert blocks == ["10.0.0.0/16", "100.64.0.0/16"]
    # One subnet on its own route table, the other on the VPC's main one.
    main = ec2.describe_route_tables(
        Filters=[
            {"Name": "association.main", "Values": ["true"]},
            {"Name": "vpc-id", "Values": [account.vpc]},
        ]
    )["RouteTables"][0]["RouteTableId"]
    assert account.route_tables[1] == main != account.route_tables[0]
    (eks,) = ec2.describe_security_groups(GroupIds=[account.groups["eks-nodes"]])["SecurityGroups"]
    (rule,) = eks["IpPermissions"]
    assert rule["FromPort"] == 8080
    assert rule["UserIdGroupPairs"][0]["GroupId"] == account.groups["old-query-lambda"]
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [account.vpc]}])
    services = sorted(
        e["ServiceName"].removeprefix("com.amazonaws.us-east-1.") for e in endpoints["VpcEndpoints"]
    )
    assert services == ["ecr.api", "ecr.dkr", "logs", "sqs"]


def test_the_table_has_the_index_and_every_demo_user(loaded):
    url, account = loaded
    dynamodb = _client(url, "dynamodb")
    table = dynamodb.describe_table(TableName=account.table)["Table"]
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == [
        "marketing_id-index"
    ]
    spec = tomllib.loads(RUNNING_ACCOUNT.read_text())
    for user in DEMO_USERS:
        count = dynamodb.query(
            TableName=account.table,
            KeyConditionExpression="user_id = :u",
            ExpressionAttributeValues={":u": {"S": user}},
            Select="COUNT",
        )["Count"]
        assert count == spec["table"]["demo_items_per_user"]
