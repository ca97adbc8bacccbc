"""Network: a private VPC or the imported one, and only the VPC endpoints it lacks."""

from __future__ import annotations

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template


@pytest.fixture(scope="module")
def synth(bare_stack):
    """``synth(config)``: the Network with one admitted client group (like the tasks')."""
    from query_infra.network import Network

    def synth(config) -> Template:
        stack = bare_stack()
        network = Network(stack, "Network", config=config)
        client = ec2.SecurityGroup(
            stack, "Client", vpc=network.vpc, allow_all_outbound=False, description="client"
        )
        network.admit(client)
        return Template.from_stack(stack)

    return synth


@pytest.fixture(scope="module")
def imported(make_config, context):
    """``imported(**fields)``: a config for the running account's VPC."""

    def imported(**fields):
        fields = {"execute_api_private_dns": False, **fields}  # read_context's default here
        return make_config(
            vpc_id=context["vpcId"],
            vpc_cidr=context["vpcCidr"],
            private_subnet_ids=tuple(context["privateSubnetIds"]),
            private_route_table_ids=tuple(context["privateRouteTableIds"]),
            availability_zones=tuple(context["availabilityZones"]),
            **fields,
        )

    return imported


@pytest.fixture(scope="module")
def fresh(synth, make_config) -> Template:
    return synth(make_config())


@pytest.fixture(scope="module")
def existing(synth, imported, context) -> Template:
    """The VPC already has ECR's API endpoint and S3's gateway; rollback source on."""
    return synth(
        imported(
            existing_vpc_endpoints=frozenset({"ecr.api", "s3"}),
            existing_endpoint_peers=tuple(context["existingEndpointPeers"]),
            enable_lambda_rollback_source=True,
        )
    )


def _service(name: str) -> dict:
    return {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, f".{name}"]]}


def _endpoints(template: Template) -> dict[str, dict]:
    """Service name -> properties of each endpoint the template creates."""
    out = {}
    for endpoint in template.find_resources("AWS::EC2::VPCEndpoint").values():
        props = endpoint["Properties"]
        out[props["ServiceName"]["Fn::Join"][1][-1].lstrip(".")] = props
    return out


def test_fresh_vpc_is_private_with_flow_logs(fresh):
    fresh.resource_count_is("AWS::EC2::VPC", 1)
    fresh.resource_count_is("AWS::EC2::NatGateway", 0)
    fresh.resource_count_is("AWS::EC2::InternetGateway", 0)
    fresh.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "ALL"})


def test_fresh_vpc_gets_every_endpoint_the_tasks_need_with_private_dns(fresh):
    endpoints = _endpoints(fresh)
    assert set(endpoints) == {"execute-api", "ecr.api", "ecr.dkr", "logs", "s3", "secretsmanager"}
    for name in ("execute-api", "ecr.api", "ecr.dkr", "logs", "secretsmanager"):
        assert endpoints[name]["PrivateDnsEnabled"] is True, name
    assert endpoints["s3"]["VpcEndpointType"] == "Gateway"


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


def test_existing_vpc_gets_only_the_endpoints_it_lacks(existing):
    # ecr.api and s3 exist already; lambda is needed by the rollback source.
    assert set(_endpoints(existing)) == {
        "execute-api",
        "ecr.dkr",
        "logs",
        "lambda",
        "secretsmanager",
    }


def test_no_private_dns_on_execute_api_in_an_existing_vpc_unless_asked(existing, synth, imported):
    assert _endpoints(existing)["execute-api"]["PrivateDnsEnabled"] is False
    asked = _endpoints(synth(imported(execute_api_private_dns=True)))
    assert asked["execute-api"]["PrivateDnsEnabled"] is True


def _ingress_of(template: Template, group_prefix: str) -> list[dict]:
    """Inline and standalone ingress rules of the security group whose id starts so."""
    rules = []
    for logical_id, group in template.find_resources("AWS::EC2::SecurityGroup").items():
        if logical_id.startswith(group_prefix):
            rules += group["Properties"].get("SecurityGroupIngress", [])
    for rule in template.find_resources("AWS::EC2::SecurityGroupIngress").values():
        if rule["Properties"]["GroupId"]["Fn::GetAtt"][0].startswith(group_prefix):
            rules.append(rule["Properties"])
    return rules


def test_shared_endpoints_admit_the_vpc_cidr_on_443(existing, context):
    rules = _ingress_of(existing, "NetworkSharedEndpointsSg")
    assert [(r.get("CidrIp"), r["FromPort"], r["ToPort"]) for r in rules] == [
        (context["vpcCidr"], 443, 443)
    ]


def test_shared_endpoints_admit_the_context_cidrs_instead(synth, imported):
    cidrs = ("10.20.0.0/18", "10.99.0.0/24")
    rules = _ingress_of(synth(imported(endpoint_ingress_cidrs=cidrs)), "NetworkSharedEndpointsSg")
    assert sorted(r["CidrIp"] for r in rules) == sorted(cidrs)


def test_execute_api_endpoint_admits_only_the_admitted_group(existing):
    (rule,) = _ingress_of(existing, "NetworkExecuteApiEndpointSg")
    assert rule["SourceSecurityGroupId"]["Fn::GetAtt"][0].startswith("Client")
    assert (rule["FromPort"], rule["ToPort"]) == (443, 443)


def _egress_of_client(template: Template) -> list[dict]:
    """Inline and standalone egress rules of the client group."""
    (group,) = [
        g
        for k, g in template.find_resources("AWS::EC2::SecurityGroup").items()
        if k.startswith("Client")
    ]
    inline = group["Properties"].get("SecurityGroupEgress", [])
    return inline + [
        r["Properties"]
        for r in template.find_resources("AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"]["Fn::GetAtt"][0].startswith("Client")
    ]


def _target(rule: dict) -> str:
    if "CidrIp" in rule:
        return rule["CidrIp"]
    if "DestinationPrefixListId" in rule:
        return f"pl:{rule['DestinationPrefixListId']}"
    group = rule["DestinationSecurityGroupId"]
    return f"sg:{group if isinstance(group, str) else group['Fn::GetAtt'][0]}"


def test_admitted_group_egress_only_to_the_endpoints_on_443(fresh, existing, context):
    for template, reused in ((fresh, False), (existing, True)):
        egress = _egress_of_client(template)
        assert {(r["FromPort"], r["ToPort"], r["IpProtocol"]) for r in egress} == {
            (443, 443, "tcp")
        }
        targets = [_target(rule) for rule in egress]
        assert len(targets) == 3 + reused
        assert "0.0.0.0/0" not in targets
        assert any(t.startswith("sg:NetworkExecuteApiEndpointSg") for t in targets)
        assert any(t.startswith("sg:NetworkSharedEndpointsSg") for t in targets)
        assert any(t.startswith("pl:") and "S3PrefixList" in t for t in targets)  # image layers
        # The VPC's own endpoints: their security groups, never the VPC's whole CIDR.
        assert context["vpcCidr"] not in targets
        peers = [f"sg:{peer}" for peer in context["existingEndpointPeers"]]
        assert all(peer in targets for peer in peers) is reused


def test_s3_prefix_list_is_looked_up_at_deploy(fresh):
    (lookup,) = fresh.find_resources("Custom::AWS").values()
    call = str(lookup["Properties"]["Create"])
    assert "DescribeManagedPrefixLists" in call
    assert ".s3" in call
    assert lookup["Properties"]["InstallLatestAwsSdk"] is False  # no download at deploy


def _retained(template: Template, kind: str) -> dict[str, bool]:
    """Logical id -> whether `cdk destroy` leaves the resource (both policies Retain)."""
    return {
        logical_id: resource.get("DeletionPolicy") == "Retain"
        and resource.get("UpdateReplacePolicy") == "Retain"
        for logical_id, resource in template.find_resources(kind).items()
    }


def test_what_other_workloads_use_outlives_the_stack_in_an_existing_vpc(synth, imported):
    template = synth(imported())  # the VPC has no endpoint yet: the stack creates them all
    endpoints = _retained(template, "AWS::EC2::VPCEndpoint")
    shared = {k: v for k, v in endpoints.items() if "ExecuteApi" not in k}
    # ECR API and Docker, Logs, Secrets Manager (private DNS: the whole VPC resolves to them),
    # S3 (its routes).
    assert len(shared) == 5
    assert all(shared.values()), shared
    # The execute-api endpoint is the stack's own (private DNS off): it goes with the stack.
    assert [v for k, v in endpoints.items() if "ExecuteApi" in k] == [False]
    groups = _retained(template, "AWS::EC2::SecurityGroup")
    assert {k for k, v in groups.items() if v} == {
        k for k in groups if k.startswith("NetworkSharedEndpointsSg")
    }
    (s3,) = [
        e["Properties"]
        for e in template.find_resources("AWS::EC2::VPCEndpoint").values()
        if e["Properties"].get("VpcEndpointType") == "Gateway"
    ]
    assert s3["RouteTableIds"] == list(imported().private_route_table_ids)


def test_a_fresh_vpc_goes_with_the_stack_whole(fresh):
    for kind in ("AWS::EC2::VPCEndpoint", "AWS::EC2::SecurityGroup"):
        assert not any(_retained(fresh, kind).values()), kind


def test_egress_to_reused_endpoints_goes_to_the_named_groups_or_prefix_lists(synth, imported):
    peers = ("sg-0e9d5000000a1b2c4", "pl-0a1b2c3d4e5f60718")
    template = synth(
        imported(existing_vpc_endpoints=frozenset({"logs"}), existing_endpoint_peers=peers)
    )
    targets = [_target(rule) for rule in _egress_of_client(template)]
    assert "sg:sg-0e9d5000000a1b2c4" in targets
    assert "pl:pl-0a1b2c3d4e5f60718" in targets
    assert not any(t[0].isdigit() for t in targets)  # no CIDR at all


def test_reused_endpoints_without_their_groups_are_refused_at_synth(bare_stack, context):
    from query_infra.context import ContextError, read_context

    stack = bare_stack()
    for key, value in context.items():
        if key != "existingEndpointPeers":
            stack.node.set_context(key, value)
    with pytest.raises(ContextError) as caught:
        read_context(stack)
    assert any(
        line.startswith("existingVpcEndpoints reuses ecr.api: existingEndpointPeers must name")
        for line in caught.value.problems
    ), caught.value.problems
