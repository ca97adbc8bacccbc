"""discover against an account built in moto's server: the public API, the old Query Lambda in a
VPC with a secondary CIDR, its subnets (one with its own route table, one on the main one), the
VPC's endpoints, the EKS side's security group, the results table."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from query_migrate._owner import OWNER_CLAIMS

from apps.query_migrate.tests.fixtures.aws import REGION
from apps.query_migrate.tests.fixtures.running import Running

INFRA = Path(__file__).parents[3] / "infra" / "src" / "query_infra"
INFRA_CONTEXT = INFRA / "context.py"


def infra_keys() -> set[str]:
    """The keys the CDK app's context reader reads: the first argument of each ``read.<kind>(...)``
    call in ``read_context`` (read as data: apps never import infra)."""
    tree = ast.parse(INFRA_CONTEXT.read_text())
    keys = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "read"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }
    assert {"vpcId", "vpcCidr", "endpointIngressCidrs", "oldEksHandlerPeer"} <= keys, keys
    return keys


def _discover(run: Any, running: Running, output: Path, *extra: str) -> Any:
    return run("discover", "--api-id", running.api_id, "--output", str(output), *extra)


def test_discover_writes_the_context_of_the_running_account(run, running, tmp_path) -> None:
    output = tmp_path / "cdk.context.json"
    result = _discover(run, running, output)
    assert result.exit_code == 0, result.output + result.stderr
    context = json.loads(output.read_text())
    assert context == {
        "region": REGION,
        "existingPublicApiId": running.api_id,
        "existingPublicApiStage": "prod",
        "existingPublicApiPaths": [
            "/query/marketing",
            "/query/marketing/{proxy+}",
            "/query/result",
        ],
        # The methods' Cognito authorizer issues sub, which its users cannot change.
        "ownerClaim": "sub",
        "account": "123456789012",
        "oldEksHandlerUrl": "http://query-handler.eks.internal:8080",
        "oldEksHandlerPort": 8080,
        "existingTableName": "query-results",
        "vpcId": running.vpc,
        "vpcCidr": "10.0.0.0/16",
        # Every block of the VPC, the secondary one too: the shared endpoints admit them all.
        "endpointIngressCidrs": ["10.0.0.0/16", "100.64.0.0/16"],
        "privateSubnetIds": running.subnets,
        "availabilityZones": running.zones,
        # The first subnet's own table, the second's the VPC's main one.
        "privateRouteTableIds": running.route_tables,
        "existingVpcEndpoints": ["ecr.api", "ecr.dkr", "logs"],
        # The reused endpoints' own group: the tasks' only egress to them (synth requires it).
        "existingEndpointPeers": [running.endpoint_sg],
        "executeApiPrivateDns": False,
        "oldEksHandlerPeer": running.eks_sg,
        "trafficTarget": "eks",
    }
    # Only keys the CDK app reads (it refuses any other at synth).
    assert set(context) <= infra_keys()
    assert "not found" in result.stdout
    # Each value names its source; what it could not find says how to find it.
    found = run.json("discover", "--api-id", running.api_id, "--output", str(output))
    assert found["written"] is False  # up to date
    assert set(found["sources"]) == set(context)
    sources = found["sources"]
    assert sources["oldEksHandlerUrl"].startswith(
        "Lambda old-query-lambda environment EKS_HANDLER_URL"
    )
    assert sources["privateRouteTableIds"] == (
        f"DescribeRouteTables: {running.subnets[0]}: explicit association, "
        f"{running.subnets[1]}: VPC's main table"
    )
    assert sources["oldEksHandlerPeer"].endswith("security group on port 8080")
    assert "COGNITO_USER_POOLS query-users" in sources["ownerClaim"]
    assert found["missing"] == {"environment": found["missing"]["environment"]}
    assert "QueryService-<environment>" in found["missing"]["environment"]


def test_discover_refuses_to_write_over_a_different_file_unless_forced(
    run, running, tmp_path
) -> None:
    output = tmp_path / "cdk.context.json"
    output.write_text(
        json.dumps({"region": REGION, "environment": "prod", "vpcCidr": "10.9.0.0/16"}, indent=2)
    )
    before = output.read_text()
    refused = _discover(run, running, output)
    assert refused.exit_code == 1
    assert "exists and differs" in refused.stderr
    assert '-  "vpcCidr": "10.9.0.0/16"' in refused.stdout
    assert output.read_text() == before

    forced = run.json("discover", "--api-id", running.api_id, "--output", str(output), "--force")
    assert forced["written"] is True
    context = json.loads(output.read_text())
    assert context["vpcCidr"] == "10.0.0.0/16"
    assert context["environment"] == "prod"  # the operator's key is kept
    assert "environment" not in forced["missing"]

    again = _discover(run, running, output)
    assert again.exit_code == 0
    assert "is up to date" in again.stdout


def test_discover_reads_the_region_from_the_context_file(run, running, tmp_path) -> None:
    """The file's region, not the shell's: in eu-west-1 the API does not exist."""
    output = tmp_path / "cdk.context.json"
    output.write_text(json.dumps({"region": "eu-west-1"}))
    result = _discover(run, running, output, "--force")
    assert result.exit_code == 2
    assert "GetStage" in result.stderr
    assert "NotFoundException" in result.stderr
    contradiction = _discover(run, running, output, "--region", REGION)
    assert contradiction.exit_code == 2
    assert "but the context's region is eu-west-1" in contradiction.stderr


def test_discover_lists_what_it_could_not_find(run, aws, make_api, tmp_path) -> None:
    """An old Query Lambda outside a VPC and without EKS_HANDLER_URL: each key says how."""
    api = make_api()
    output = tmp_path / "c.json"
    found = run.json("discover", "--api-id", api.api_id, "--output", str(output), "--dry-run")
    assert not output.exists()
    assert set(found["missing"]) == {
        "oldEksHandlerUrl",
        "existingTableName",
        "vpcId",
        "environment",
    }
    assert "Service/Ingress URL" in found["missing"]["oldEksHandlerUrl"]


def test_the_owner_claims_discover_writes_are_the_ones_synth_accepts() -> None:
    """query_infra.rules.OWNER_CLAIMS' values, read as data (apps never import infra)."""
    tree = ast.parse((INFRA / "rules.py").read_text())
    (infra,) = [
        ast.literal_eval(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "OWNER_CLAIMS" for t in node.targets)
    ]
    assert set(OWNER_CLAIMS.values()) == set(infra.values())


def test_discover_names_no_owner_claim_when_the_methods_disagree(
    run, running, running_method, tmp_path
) -> None:
    """One method on IAM, the others on the Cognito authorizer: the operator chooses."""
    running_method("/query/marketing", "ANY", "AWS_IAM")
    found = run.json("discover", "--api-id", running.api_id, "--output", str(tmp_path / "c.json"))
    assert "ownerClaim" not in found["context"]
    how = found["missing"]["ownerClaim"]
    assert "ANY /query/marketing: AWS_IAM" in how
    assert "ownerCheck=false" in how
