"""The running account of ``accounts/running.toml``, created in moto's server over HTTP.

One fixture file, one loader: query-migrate's tests and the rehearsal of the runbook
(docs/decisions/0015-runbook-rehearsal.md) start from the same account. Every resource is
created through AWS's public APIs (boto3 against ``endpoint_url``), as the account's owners
once did; the ids are moto's, except the public API's (moto's ``_custom_id_`` tag).
"""

from __future__ import annotations

import io
import tomllib
import zipfile
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import boto3

from query_devstack._demo import DEMO_USERS, demo_items
from query_devstack._emulator import _LOCAL_KEY
from query_devstack._table import create_results_table, put_items

__all__ = ["RUNNING_ACCOUNT", "RunningAccount", "load_account"]

#: The fixture file's text (package data of query_devstack).
RUNNING_ACCOUNT = files("query_devstack").joinpath("accounts", "running.toml")
#: moto's default account: what every ARN it makes holds.
_ACCOUNT = "123456789012"


@dataclass
class RunningAccount:
    """What was created: the ids a test or the rehearsal needs to find it again."""

    region: str
    account: str
    api_id: str
    stages: list[str]
    authorizer_id: str
    old_function_arn: str
    table: str
    vpc: str
    subnets: list[str]
    zones: list[str]
    route_tables: list[str]
    #: Security group ids by the fixture's names (``eks-nodes``, ``endpoints``, ...).
    groups: dict[str, str] = field(default_factory=dict)
    users: tuple[str, ...] = DEMO_USERS
    #: Each stage's access log group (CloudWatch Logs), by stage name.
    access_logs: dict[str, str] = field(default_factory=dict)

    @property
    def stage(self) -> str:
        """The stage clients call (the fixture's first)."""
        return self.stages[0]


def emulator_client(service: str, endpoint_url: str, region: str) -> Any:
    """A boto3 client of ``service`` on the emulator at ``endpoint_url``, with its dummy keys."""
    make: Any = boto3.client  # a client per service name read from the fixture: untyped
    return make(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=_LOCAL_KEY,
        aws_secret_access_key=_LOCAL_KEY,
    )


def _lambda_zip() -> bytes:
    """A deployment package moto accepts; the old Query Lambda's code is not what is emulated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def load_account(endpoint_url: str, spec: dict[str, Any] | None = None) -> RunningAccount:
    """Create the running account (``spec``: the parsed fixture; default ``running.toml``)."""
    spec = spec or tomllib.loads(RUNNING_ACCOUNT.read_text())
    region = spec["region"]

    def client(service: str) -> Any:
        return emulator_client(service, endpoint_url, region)

    vpc, subnets, route_tables, groups = _network(client("ec2"), spec)
    table = spec["table"]
    dynamodb = client("dynamodb")
    create_results_table(dynamodb, table["name"])
    put_items(dynamodb, demo_items(per_user=table["demo_items_per_user"]), table["name"])
    old = spec["old_query_lambda"]
    role = client("iam").create_role(RoleName=f"{old['name']}-role", AssumeRolePolicyDocument="{}")[
        "Role"
    ]["Arn"]
    function_arn = client("lambda").create_function(
        FunctionName=old["name"],
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": _lambda_zip()},
        VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [groups[old["security_group"]]]},
        Environment={"Variables": dict(old["environment"])},
    )["FunctionArn"]
    api_id, authorizer_id = _public_api(client, spec["api"], region, function_arn)
    access_logs = _access_logs(client, spec["api"], api_id, region)
    return RunningAccount(
        region=region,
        account=_ACCOUNT,
        api_id=api_id,
        stages=list(spec["api"]["stages"]),
        authorizer_id=authorizer_id,
        old_function_arn=function_arn,
        table=table["name"],
        vpc=vpc,
        subnets=subnets,
        zones=[subnet["zone"] for subnet in spec["vpc"]["subnets"]],
        route_tables=route_tables,
        groups=groups,
        access_logs=access_logs,
    )


def _network(ec2: Any, spec: dict[str, Any]) -> tuple[str, list[str], list[str], dict[str, str]]:
    """The VPC, its blocks, subnets, route tables, security groups and interface endpoints."""
    network = spec["vpc"]
    vpc = ec2.create_vpc(CidrBlock=network["cidr"])["Vpc"]["VpcId"]
    for block in network.get("secondary_cidrs", []):
        ec2.associate_vpc_cidr_block(VpcId=vpc, CidrBlock=block)
    main = ec2.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"][0]["RouteTableId"]
    subnets, route_tables = [], []
    for subnet in network["subnets"]:
        subnet_id = ec2.create_subnet(
            VpcId=vpc, CidrBlock=subnet["cidr"], AvailabilityZone=subnet["zone"]
        )["Subnet"]["SubnetId"]
        subnets.append(subnet_id)
        if subnet["route_table"] == "main":
            route_tables.append(main)
            continue
        own = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=own, SubnetId=subnet_id)
        route_tables.append(own)
    groups = {
        name: ec2.create_security_group(
            GroupName=name, Description=group["description"], VpcId=vpc
        )["GroupId"]
        for name, group in spec["security_groups"].items()
    }
    for name, group in spec["security_groups"].items():
        for rule in group.get("ingress", []):
            ec2.authorize_security_group_ingress(
                GroupId=groups[name],
                IpPermissions=[
                    {
                        "IpProtocol": "tcp",
                        "FromPort": rule["port"],
                        "ToPort": rule["port"],
                        "UserIdGroupPairs": [{"GroupId": groups[rule["from"]]}],
                    }
                ],
            )
    endpoints = network["endpoints"]
    for service in endpoints["services"]:
        ec2.create_vpc_endpoint(
            VpcId=vpc,
            ServiceName=f"com.amazonaws.{spec['region']}.{service}",
            VpcEndpointType="Interface",
            SubnetIds=subnets,
            SecurityGroupIds=[groups[endpoints["security_group"]]],
            PrivateDnsEnabled=True,
        )
    return vpc, subnets, route_tables, groups


def _public_api(
    client: Any, api: dict[str, Any], region: str, function_arn: str
) -> tuple[str, str]:
    """The REST API: its authorizer, each path's Lambda proxy method, its stages."""
    apigateway = client("apigateway")
    api_id = apigateway.create_rest_api(name=api["name"], tags={"_custom_id_": api["id"]})["id"]
    authorizer = api["authorizer"]
    pool_arn = client("cognito-idp").create_user_pool(PoolName=authorizer["user_pool"])["UserPool"][
        "Arn"
    ]
    authorizer_id = apigateway.create_authorizer(
        restApiId=api_id,
        name=authorizer["name"],
        type=authorizer["type"],
        providerARNs=[pool_arn],
        identitySource="method.request.header.Authorization",
    )["id"]
    ids = {"/": apigateway.get_resources(restApiId=api_id)["items"][0]["id"]}
    uri = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    for path, verb in api["methods"].items():
        resource_id = _resource(apigateway, api_id, ids, path)
        apigateway.put_method(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=verb,
            authorizationType=authorizer["type"],
            authorizerId=authorizer_id,
        )
        apigateway.put_integration(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=verb,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=uri,
        )
    first, *others = api["stages"]
    deployment = apigateway.create_deployment(restApiId=api_id, stageName=first)["id"]
    for stage in others:
        apigateway.create_stage(restApiId=api_id, stageName=stage, deploymentId=deployment)
    lam = client("lambda")
    lam.add_permission(
        FunctionName=function_arn,
        StatementId="public-api",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{region}:{_ACCOUNT}:{api_id}/*",
    )
    return api_id, authorizer_id


def _access_logs(client: Any, api: dict[str, Any], api_id: str, region: str) -> dict[str, str]:
    """Each stage's access log: its group created, the stage's settings pointed at it."""
    settings = api.get("access_log")
    if not settings:
        return {}
    apigateway, logs, groups = client("apigateway"), client("logs"), {}
    for stage in api["stages"]:
        group = settings["group"].format(stage=stage)
        logs.create_log_group(logGroupName=group)
        arn = f"arn:aws:logs:{region}:{_ACCOUNT}:log-group:{group}"
        apigateway.update_stage(
            restApiId=api_id,
            stageName=stage,
            patchOperations=[
                {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": arn},
                {"op": "replace", "path": "/accessLogSettings/format", "value": settings["format"]},
            ],
        )
        groups[stage] = group
    return groups


def _resource(apigateway: Any, api_id: str, ids: dict[str, str], path: str) -> str:
    """The resource of ``path``, creating it and its parents as needed."""
    if path not in ids:
        parent, _, part = path.rpartition("/")
        parent_id = _resource(apigateway, api_id, ids, parent or "/")
        ids[path] = apigateway.create_resource(restApiId=api_id, parentId=parent_id, pathPart=part)[
            "id"
        ]
    return ids[path]
