"""The whole app, once per context: cdk-nag clean (the fixtures raise otherwise), the
cross-cutting rules, the outputs other tools read, and the shape of the source itself."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match

SOURCE = Path(__file__).resolve().parents[1] / "src" / "query_infra"

#: query-migrate's names of what it shares with this app, read as data (the two never
#: import each other): the stack outputs it reads and the default public API paths.
SHARED_NAMES = (
    Path(__file__).resolve().parents[2] / "apps/query_migrate/src/query_migrate/_names.py"
)
#: Outputs the runbook reads by hand, not query-migrate.
RUNBOOK_OUTPUTS = {"InternalApiId", "TokenSecretArn"}
#: Outputs of create mode only: an existing public API keeps its own URL and auth.
CREATE_MODE_OUTPUTS = {"PublicApiUrl", "PublicApiAuth"}


def shared_name(name: str) -> Any:
    """The literal value of ``name`` in query-migrate's ``_names.py``."""
    for node in ast.parse(SHARED_NAMES.read_text()).body:
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == name
            and node.value is not None
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{SHARED_NAMES} defines no {name}")


VARIANTS = ["fresh", "existing", "existing_api"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_security_group_admits_anywhere(variant, request):
    synth = request.getfixturevalue(variant)
    rules = [r["Properties"] for r in synth.resources("AWS::EC2::SecurityGroupIngress").values()]
    for group in synth.resources("AWS::EC2::SecurityGroup").values():
        rules += group["Properties"].get("SecurityGroupIngress", [])
    assert rules
    for rule in rules:
        assert rule.get("CidrIp") != "0.0.0.0/0", rule
        assert rule.get("CidrIpv6") != "::/0", rule


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_output_query_migrate_reads_is_an_output_of_the_stack(variant, request):
    """A rename on either side (stack.py or query-migrate's table) fails here, not at run time."""
    outputs = set(request.getfixturevalue(variant).template["Outputs"])
    read = set(shared_name("STACK_OUTPUTS"))
    expected = read | RUNBOOK_OUTPUTS
    if variant == "existing_api":
        expected -= CREATE_MODE_OUTPUTS
        assert not outputs & CREATE_MODE_OUTPUTS
    assert expected - outputs == set()


def test_the_default_public_api_paths_are_the_ones_query_migrate_attaches(existing_api):
    """Without existingPublicApiPaths, the alias may be invoked on exactly the paths that
    query-migrate's attach repoints by default."""
    paths = shared_name("DEFAULT_PUBLIC_API_PATHS")
    permissions = existing_api.resources("AWS::Lambda::Permission").values()
    sources = [json.dumps(p["Properties"].get("SourceArn")) for p in permissions]
    granted = [s for s in sources if "a1b2c3d4e5/v1/*/" in s]
    assert len(granted) == len(paths)
    for path in paths:
        suffix = "a1b2c3d4e5/v1/*" + re.sub(r"\{[^}]+\}", "*", path) + '"'
        assert sum(suffix in s for s in granted) == 1, (path, granted)


@pytest.mark.parametrize("variant", ["fresh", "existing"])
def test_the_log_group_names_output_names_each_hop(variant, request):
    outputs = request.getfixturevalue(variant).template["Outputs"]
    names = outputs["LogGroupNames"]["Value"]["Fn::Join"][1]
    keys = [
        part.split("=")[0].lstrip(",") for part in names if isinstance(part, str) and "=" in part
    ]
    assert keys == ["query-lambda", "service", "query-result-lambda", "internal-api"]


def test_the_existing_public_api_mode_creates_no_public_api(existing, existing_api):
    names = [
        api["Properties"]["Name"]
        for api in existing_api.resources("AWS::ApiGateway::RestApi").values()
    ]
    assert names == ["query-internal-prod"]
    assert "PublicApiUrl" not in existing_api.template["Outputs"]
    assert {"PublicApiUrl", "PublicApiAuth"} <= set(existing.template["Outputs"])
    # The existing API may invoke alias live; the old function and its URL stay untouched.
    permissions = existing_api.resources("AWS::Lambda::Permission").values()
    sources = [str(p["Properties"].get("SourceArn")) for p in permissions]
    assert sum("a1b2c3d4e5/v1/*/query/" in s for s in sources) == 3


def test_the_internal_api_url_in_the_running_account_is_endpoint_specific(existing):
    (task,) = existing.resources("AWS::ECS::TaskDefinition").values()
    env = {
        e["Name"]: e["Value"] for e in task["Properties"]["ContainerDefinitions"][0]["Environment"]
    }
    parts = env["INTERNAL_API_URL"]["Fn::Join"][1]
    assert parts[0] == "https://"
    assert parts[2] == "-"
    assert parts[3]["Ref"].startswith("NetworkExecuteApiEndpoint")
    assert existing.template["Outputs"]["InternalApiUrl"]["Value"] == env["INTERNAL_API_URL"]


def test_every_log_group_has_a_retention(fresh):
    groups = fresh.resources("AWS::Logs::LogGroup").values()
    assert groups
    assert all(g["Properties"].get("RetentionInDays") for g in groups)


def test_alarms_cover_every_hop(fresh):
    names = " ".join(fresh.resources("AWS::CloudWatch::Alarm"))
    for part in (
        "AlbTarget5xx",
        "AlbTargetP99",
        "Alb5xx",
        "EcsCpu",
        "EcsMemory",
        "PrivateApi5xx",
        "PrivateApiLatency",
        "QueryResultErrors",
        "QueryResultThrottles",
        "QueryResultDuration",
        "QueryErrors",
        "QueryThrottles",
        "QueryDuration",
        "DynamoDbThrottles",
        "NewVersionErrorRate",
        "NewVersionExtra4xx",
        "AlbErrorRate",
        "PublicApi5xx",
    ):
        assert part in names, part
    assert len(fresh.resources("AWS::CloudWatch::Dashboard")) == 1


def _canary_alarm_ids(synth) -> list[str]:
    (group,) = synth.resources("AWS::CodeDeploy::DeploymentGroup").values()
    return sorted(a["Name"]["Ref"] for a in group["Properties"]["AlarmConfiguration"]["Alarms"])


def test_the_canary_has_the_same_alarms_whichever_public_api_it_serves(fresh, existing_api):
    # Error rates of the new version and of the ALB: none depends on who owns the public API.
    assert _canary_alarm_ids(fresh) == _canary_alarm_ids(existing_api)
    assert len(_canary_alarm_ids(fresh)) == 4


def test_the_existing_apis_5xx_rate_is_watched_by_its_name_read_at_deploy(existing_api):
    (alarm,) = [
        a["Properties"]
        for k, a in existing_api.resources("AWS::CloudWatch::Alarm").items()
        if "PublicApi5xxRate" in k
    ]
    metrics = {m["Id"]: m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert metrics["server5xx"]["MetricName"] == "5XXError"
    dimensions = {d["Name"]: d["Value"] for d in metrics["server5xx"]["Dimensions"]}
    assert dimensions["Stage"] == "v1"
    assert dimensions["ApiName"]["Fn::GetAtt"][1] == "name"  # GetRestApi's answer
    (lookup,) = [
        r["Properties"]
        for k, r in existing_api.template["Resources"].items()
        if k.startswith("EdgePublicExistingApiName") and r["Type"] == "Custom::AWS"
    ]
    assert "a1b2c3d4e5" in json.dumps(lookup)


def _imports(module: Path) -> set[str]:
    tree = ast.parse(module.read_text())
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("query_infra")
        ):
            found.add(node.module.removeprefix("query_infra").lstrip(".") or "__init__")
            found |= {a.name for a in node.names if (SOURCE / f"{a.name}.py").exists()}
    return found - {module.stem}


def test_modules_import_each_other_without_a_cycle():
    graph = {p.stem: _imports(p) for p in SOURCE.glob("*.py")}
    state: dict[str, str] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        assert state.get(name) != "open", f"import cycle: {' -> '.join((*trail, name))}"
        state[name] = "open"
        for other in graph.get(name, ()):
            visit(other, (*trail, name))
        state[name] = "done"

    for name in graph:
        visit(name, ())
    assert graph["monitoring"] <= {"__init__"}  # monitoring takes metrics, knows no construct


def test_no_source_file_is_over_400_lines():
    lengths = {p.name: len(p.read_text().splitlines()) for p in SOURCE.glob("*.py")}
    assert max(lengths.values()) <= 400, lengths


def _contract_budgets() -> dict[str, float]:
    """docs/contract.md#timeouts: hop -> seconds (the table the apps' settings are held to)."""
    contract = Path(__file__).resolve().parents[2] / "docs" / "contract.md"
    section = contract.read_text().split("{#timeouts}", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| ")][2:]
    return {row[0].removeprefix("| "): float(row[1].removesuffix(" s")) for row in rows}


def test_function_timeouts_are_the_contracts_budgets(fresh):
    budgets = _contract_budgets()
    functions = {
        props["Handler"]: props
        for props in (r["Properties"] for r in fresh.resources("AWS::Lambda::Function").values())
        if "Handler" in props
    }
    query = functions["lambdas.query.handler.handler"]
    query_result = functions["lambdas.query_result.handler.handler"]
    assert query["Timeout"] == budgets["Query Lambda, whole invocation"]
    assert query_result["Timeout"] == budgets["Query Result Lambda, whole invocation"]
    forwarded = float(query["Environment"]["Variables"]["FORWARD_TIMEOUT_SECONDS"])
    assert forwarded == budgets["Query Lambda → service, the forwarded call"]


def test_the_existing_api_without_owner_check_is_warned_and_output(existing_api_open):
    """ownerCheck=false is a choice the stack says out loud: a synth warning and an output."""
    synth = existing_api_open
    assert synth.template["Outputs"]["OwnerCheck"]["Value"].startswith("off: any caller reads")
    Annotations.from_stack(synth.stack).has_warning(
        "*", Match.string_like_regexp("ownerCheck=false: every caller of the existing public")
    )


def test_the_existing_api_names_its_owner_rule(existing_api):
    outputs = existing_api.template["Outputs"]
    assert outputs["OwnerCheck"]["Value"] == "on: the caller is the authorizer's sub"
