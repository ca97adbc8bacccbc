"""Network: a private VPC or the imported one, and its VPC endpoints."""

from __future__ import annotations

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template
from query_infra.network import Network


def synth(bare_stack, config) -> tuple[Template, Network]:
    stack = bare_stack()
    network = Network(stack, "Network", config=config)
    peer = ec2.SecurityGroup(stack, "Peer", vpc=network.vpc, description="a client")
    network.admit(peer)
    return Template.from_stack(stack), network


@pytest.fixture(scope="module")
def fresh(bare_stack, make_config) -> Template:
    return synth(bare_stack, make_config())[0]


@pytest.fixture(scope="module")
def existing(bare_stack, make_config, context) -> Template:
    return synth(
        bare_stack,
        make_config(
            vpc_id=context["vpcId"],
            private_subnet_ids=tuple(context["privateSubnetIds"]),
            private_route_table_ids=tuple(context["privateRouteTableIds"]),
            availability_zones=tuple(context["availabilityZones"]),
        ),
    )[0]


def test_fresh_vpc_is_private_with_flow_logs(fresh):
    fresh.resource_count_is("AWS::EC2::VPC", 1)
    fresh.resource_count_is("AWS::EC2::NatGateway", 0)
    fresh.resource_count_is("AWS::EC2::InternetGateway", 0)
    fresh.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "ALL"})


def test_existing_vpc_is_imported_not_created(existing, context):
    existing.resource_count_is("AWS::EC2::VPC", 0)
    existing.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {
            "ServiceName": _service("execute-api"),
            "VpcId": context["vpcId"],
            "SubnetIds": context["privateSubnetIds"],
        },
    )


def _service(name: str) -> dict:
    return {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, f".{name}"]]}


@pytest.mark.parametrize("name", ["execute-api", "ecr.api", "ecr.dkr", "logs"])
def test_interface_endpoints_with_private_dns(fresh, name):
    fresh.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {"ServiceName": _service(name), "VpcEndpointType": "Interface", "PrivateDnsEnabled": True},
    )


@pytest.mark.parametrize("name", ["s3", "dynamodb"])
def test_gateway_endpoints(fresh, name):
    fresh.has_resource_properties(
        "AWS::EC2::VPCEndpoint", {"ServiceName": _service(name), "VpcEndpointType": "Gateway"}
    )


def test_endpoints_admit_only_the_admitted_peer_on_443(bare_stack, make_config):
    template, _ = synth(bare_stack, make_config())
    ingress = template.find_resources("AWS::EC2::SecurityGroupIngress")
    assert len(ingress) == 1
    (rule,) = ingress.values()
    props = rule["Properties"]
    assert (props["FromPort"], props["ToPort"], props["IpProtocol"]) == (443, 443, "tcp")
    assert props["SourceSecurityGroupId"]["Fn::GetAtt"][0].startswith("Peer")
    assert props["GroupId"]["Fn::GetAtt"][0].startswith("NetworkEndpointsSg")
