"""The runbook's context files through the real AWS CDK CLI, as the operator runs it.

``npx aws-cdk@2 synth`` in a folder laid out like ``infra/`` (this ``cdk.json`` as it is, the
app, the CLI from ``infra/package-lock.json``, which ``nox -s infra`` installs) with
``cdk.context.json`` being the runbook's example (``infra/examples/cdk.context.json``), then
with each edit the docs tell the operator to make (``infra/examples/*.diff``, applied with
``git apply`` to the file the step before left). npm runs offline: a CLI not in the lock
fails the test instead of being downloaded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

INFRA = Path(__file__).resolve().parents[1]
DOCS = INFRA.parent / "docs"
EXAMPLES = INFRA / "examples"
STACK = "QueryService-prod"
#: Each edit the docs show, and the file it is made to (the phase before it).
EDITS = {
    "switch-to-ecs.diff": "cdk.context.json",
    "internal-hop-rollback.diff": "switch-to-ecs.diff",
    "close-eks-egress.diff": "switch-to-ecs.diff",
}
EKS_PEER = "sg-0e4b5c0de0000a1b2"


def _app_folder(root: Path, context: str) -> Path:
    """``infra/`` as the operator has it, with ``context`` as its cdk.context.json."""
    root.mkdir()
    for name in ("cdk.json", "app.py", "package.json", "package-lock.json", "node_modules"):
        (root / name).symlink_to(INFRA / name)
    (root / "cdk.context.json").write_text(context)
    return root


def _apply(diff: str, context: str, where: Path) -> str:
    """``context`` with ``diff`` applied by git, as ``git apply`` would to the operator's file."""
    (where / "infra").mkdir(parents=True)
    (where / "infra" / "cdk.context.json").write_text(context)
    subprocess.run(
        ["git", "apply", "--whitespace=error", "-"],
        input=diff,
        cwd=where,
        check=True,
        text=True,
        capture_output=True,
    )
    return (where / "infra" / "cdk.context.json").read_text()


def cdk_synth(folder: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    env = {
        **os.environ,
        # cdk.json's `python app.py`: this interpreter, as the runbook's PATH makes it.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "npm_config_offline": "true",  # the lock's CLI, or a failure
        "npm_config_update_notifier": "false",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "AWS_EC2_METADATA_DISABLED": "true",  # no credentials to look for
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    result = subprocess.run(
        ["npx", "aws-cdk@2", "synth", "--no-notices", "--quiet"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    template_path = folder / "cdk.out" / f"{STACK}.template.json"
    template = json.loads(template_path.read_text()) if template_path.exists() else {}
    return result, template


@pytest.fixture(scope="module")
def contexts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The example file, and the file after each edit the docs show."""
    files = {"cdk.context.json": (EXAMPLES / "cdk.context.json").read_text()}
    for edit, base in EDITS.items():
        where = tmp_path_factory.mktemp(edit.removesuffix(".diff"))
        files[edit] = _apply((EXAMPLES / edit).read_text(), files[base], where)
    return files


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory, contexts: dict[str, str]) -> Any:
    if not (INFRA / "node_modules" / "aws-cdk").is_dir() or not shutil.which("npx"):
        pytest.fail("the CDK CLI of infra/package-lock.json and npx: run `./nox -s infra`")
    cache: dict[str, dict[str, Any]] = {}

    def synth(name: str) -> Template:
        if name not in cache:
            folder = _app_folder(tmp_path_factory.mktemp("cli") / "infra", contexts[name])
            result, template = cdk_synth(folder)
            assert result.returncode == 0, result.stdout + result.stderr
            cache[name] = template
        return Template.from_json(cache[name])

    return synth


def _query_lambda_environment(template: Template) -> dict[str, Any]:
    functions = template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Handler": "lambdas.query.handler.handler"}},
    )
    (function,) = functions.values()
    return dict(function["Properties"]["Environment"]["Variables"])


def _eks_egress(template: Template) -> list[Any]:
    """The Query Lambda security group's egress rules to the EKS handler's peer."""
    groups = template.find_resources(
        "AWS::EC2::SecurityGroup",
        {"Properties": {"GroupDescription": Match.string_like_regexp("^Query Lambda")}},
    )
    (group,) = groups.values()
    rules = group["Properties"].get("SecurityGroupEgress", [])
    return [rule for rule in rules if rule.get("DestinationSecurityGroupId") == EKS_PEER]


def test_the_runbook_example_synthesizes_as_written(synthesized):
    template = synthesized("cdk.context.json")
    example = json.loads((EXAMPLES / "cdk.context.json").read_text())
    # The file decided, not cdk.json: the existing VPC, table, API and the EKS phase.
    environment = _query_lambda_environment(template)
    assert environment["EKS_HANDLER_URL"] == example["oldEksHandlerUrl"]
    assert len(_eks_egress(template)) == 1
    template.resource_count_is("AWS::EC2::VPC", 0)
    template.resource_count_is("AWS::DynamoDB::Table", 0)
    permissions = json.dumps(template.find_resources("AWS::Lambda::Permission"))
    assert permissions.count("a1b2c3d4e5/prod/*/query/") == 3  # the existing API's paths
    endpoints = template.find_resources("AWS::EC2::VPCEndpoint")
    services = json.dumps([e["Properties"]["ServiceName"] for e in endpoints.values()])
    assert ".ecr." not in services
    assert "logs" not in services
    assert "secretsmanager" in services  # the example's VPC lacks it: the caller proof keys
    assert "execute-api" in services
    assert "s3" in services


def test_the_switch_is_an_edit_of_the_file(synthesized):
    template = synthesized("switch-to-ecs.diff")
    url = json.dumps(_query_lambda_environment(template)["EKS_HANDLER_URL"])
    assert "InternalAlb" in url  # the ALB's DNS name
    assert len(_eks_egress(template)) == 1  # the canary's rollback still reaches EKS


def test_the_internal_hop_rollback_is_an_edit_of_the_file(synthesized):
    template = synthesized("internal-hop-rollback.diff")
    (task,) = template.find_resources("AWS::ECS::TaskDefinition").values()
    variables = task["Properties"]["ContainerDefinitions"][0]["Environment"]
    assert {"Name": "RESULT_SOURCE", "Value": "lambda"} in variables


def test_closing_the_eks_egress_drops_every_eks_key(synthesized, contexts):
    template = synthesized("close-eks-egress.diff")
    assert _eks_egress(template) == []
    assert "oldEksHandler" not in contexts["close-eks-egress.diff"]


#: The edits of the included diffs as scripts (the rehearsal runs them as written): the
#: traffic target (Switch 2, and back), the internal hop's two keys added, or removed one at
#: a time, the EKS keys removed (Clean-up). Nothing else: any other pasted edit fails below.
_EDIT = (
    r'\s*context\["trafficTarget"\] = "(?:ecs|eks)"\n'
    r'|\s*context\["enableLambdaRollbackSource"\] = True\n\s*context\["resultSource"\] = "lambda"\n'
    r'|\s*del context\["(?:resultSource|enableLambdaRollbackSource)"\]\n'
    r'|\s*del context\["oldEksHandlerUrl"\], context\["oldEksHandlerPeer"\], '
    r'context\["oldEksHandlerPort"\]\n'
)
_EDIT_SCRIPT = re.compile(
    r"\s*python3 - <<'EOF'\n\s*import json, pathlib\n"
    r'\s*path = pathlib\.Path\("infra/cdk\.context\.json"\)\n'
    r"\s*context = json\.loads\(path\.read_text\(\)\)\n"
    rf"(?:{_EDIT})"
    r'\s*path\.write_text\(json\.dumps\(context, indent=2\) \+ "\\n"\)\n\s*EOF\n\s*'
)
FENCE = re.compile(r"^( *)(`{3,})(\w*)\n(.*?)^\1\2$", re.MULTILINE | re.DOTALL)


def test_every_context_in_the_docs_is_an_example_file_this_test_synthesizes():
    pages = [DOCS.parent / "README.md"]
    pages += [p for p in DOCS.rglob("*.md") if "node_modules" not in p.parts]
    included: set[str] = set()
    for page in pages:
        text = page.read_text()
        for _, _, _, body in FENCE.findall(text):
            snippet = re.fullmatch(r'\s*--8<-- "infra/examples/([^"]+)"\s*', body)
            if snippet:
                included.add(snippet[1])
            elif _EDIT_SCRIPT.fullmatch(body):
                # The switch's edit (or its reverse) as a script: the rehearsal runs it as
                # written and synthesizes the result (decision 15); the diff of the same edit
                # (switch-to-ecs.diff) is included beside it and synthesized here.
                continue
            else:  # a pasted context or edit would not be tested: include the file instead
                assert '"trafficTarget"' not in body, page
                assert "cdk.context.json" not in body or "+++" not in body, page
        # A one-off -c is undone by the next deploy: phases are edits of the file.
        assert not re.search(r"aws-cdk@2 deploy[^\n`]*(-c|--context) ", text), page
    assert included == {"cdk.context.json", *EDITS}


def _edit_scripts() -> list[str]:
    """Every edit script the docs show (what ``_EDIT_SCRIPT`` lets through)."""
    pages = [DOCS.parent / "README.md"]
    pages += [p for p in DOCS.rglob("*.md") if "node_modules" not in p.parts]
    return [
        body
        for page in pages
        for _, _, _, body in FENCE.findall(page.read_text())
        if _EDIT_SCRIPT.fullmatch(body)
    ]


def _run_script(script: str, context: str, where: Path) -> dict[str, Any] | None:
    """``context`` after ``script`` ran on it as the operator runs it; None if it failed."""
    (where / "infra").mkdir(parents=True)
    (where / "infra" / "cdk.context.json").write_text(context)
    command = ["bash", "-e", "-c", textwrap.dedent(script)]
    done = subprocess.run(command, cwd=where, capture_output=True, check=False)
    if done.returncode != 0:
        return None
    return dict(json.loads((where / "infra" / "cdk.context.json").read_text()))


def _part_of(ran: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> bool:
    """``ran`` differs from ``before`` only where ``after`` does, and there as ``after``."""
    keys = {*ran, *before, *after}
    return ran != before and all(ran.get(k) in (before.get(k), after.get(k)) for k in keys)


def test_every_edit_script_is_an_included_edit_or_its_reverse(tmp_path, contexts):
    """Each script the docs show turns the file one included diff starts from into the file it
    ends with (or back), or does a part of that (the internal hop's reverse, a key at a time):
    the script and the diff beside it say the same edit."""
    steps = [(EDITS[edit], edit) for edit in EDITS]
    steps += [(after, before) for before, after in steps]
    scripts = _edit_scripts()
    assert len(scripts) >= 6  # Switch 2, back, the internal hop and back (2), the EKS keys
    for index, script in enumerate(scripts):
        made = []
        for number, (before, after) in enumerate(steps):
            ran = _run_script(script, contexts[before], tmp_path / f"{index}-{number}")
            if ran is not None and _part_of(
                ran, json.loads(contexts[before]), json.loads(contexts[after])
            ):
                made.append((before, after))
        assert made, f"this edit script is no included edit:\n{script}"
