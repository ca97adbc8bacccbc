"""The image built in CodeBuild during the deploy (imageBuild=codebuild, the default): the
context as an S3 asset, the build pushing to the stack's repository, the task waiting for it;
local Docker only when chosen; imageTag wins over both."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Match, Template
from query_infra.image_build import BUILD_SPEC

START = "lambdas.image_build.handler.on_event"
POLL = "lambdas.image_build.handler.is_complete"


@pytest.fixture(scope="module")
def synth(service_parts, tmp_path_factory):
    """The Service on a stack of its own app: its template and its asset manifest."""

    def synth(config) -> tuple[Template, dict[str, Any]]:
        outdir = tmp_path_factory.mktemp("image")
        stack = Stack(App(outdir=str(outdir)), "Test")
        service_parts(stack, config)
        template = Template.from_stack(stack)
        stack.node.root.synth()  # type: ignore[attr-defined]
        manifest = json.loads((outdir / "Test.assets.json").read_text())
        return template, manifest

    return synth


@pytest.fixture(scope="module")
def codebuild(synth, make_config):
    return synth(make_config())


def _one(template: Template, kind: str, props: dict | None = None) -> tuple[str, dict]:
    ((logical_id, resource),) = template.find_resources(kind, props or {}).items()
    return logical_id, resource


def test_the_default_builds_in_codebuild_and_needs_no_docker(codebuild):
    template, manifest = codebuild
    assert manifest.get("dockerImages", {}) == {}
    project_id, project = _one(template, "AWS::CodeBuild::Project")
    environment = project["Properties"]["Environment"]
    assert environment["Image"] == "aws/codebuild/standard:8.0"
    assert environment["PrivilegedMode"] is True  # docker build inside the build
    assert project["Properties"]["Source"]["Type"] == "S3"
    spec = json.loads(project["Properties"]["Source"]["BuildSpec"])
    commands = " ".join(spec["phases"]["build"]["commands"])
    assert 'docker push "$REPOSITORY_URI:$IMAGE_TAG"' in commands
    assert "describe-images" in commands  # a tag already pushed is not built again
    _, image = _one(template, "Custom::ImageBuild")
    properties = image["Properties"]
    assert properties["ProjectName"] == {"Ref": project_id}
    assert properties["ImageTag"].startswith("ctx-")
    assert len(properties["ImageTag"]) == 36


def test_the_task_names_the_tag_only_the_build_returns(codebuild):
    """Fn::GetAtt makes CloudFormation create the task definition after the push."""
    template, _ = codebuild
    image_id, _ = _one(template, "Custom::ImageBuild")
    _, task = _one(template, "AWS::ECS::TaskDefinition")
    image = json.dumps(task["Properties"]["ContainerDefinitions"][0]["Image"])
    assert json.dumps({"Fn::GetAtt": [image_id, "ImageTag"]}) in image
    assert "ServiceImages" in image  # the stack's repository


def test_the_provider_polls_every_30_s_for_at_most_50_minutes(codebuild):
    template, _ = codebuild
    _, machine = _one(template, "AWS::StepFunctions::StateMachine")
    definition = json.dumps(machine["Properties"]["DefinitionString"])
    assert '\\"IntervalSeconds\\":30' in definition
    assert '\\"MaxAttempts\\":100' in definition  # 100 polls of 30 s: 50 minutes
    handlers = template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Handler": Match.string_like_regexp("image_build")}},
    )
    assert sorted(h["Properties"]["Handler"] for h in handlers.values()) == [POLL, START]


@pytest.mark.parametrize(
    ("handler", "action"), [(START, "codebuild:StartBuild"), (POLL, "codebuild:BatchGetBuilds")]
)
def test_each_handler_may_do_one_thing_to_the_project(codebuild, handler, action):
    template, _ = codebuild
    project_id, _ = _one(template, "AWS::CodeBuild::Project")
    _, function = _one(template, "AWS::Lambda::Function", {"Properties": {"Handler": handler}})
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role}]}}
    ).values()
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    codebuild_statements = [s for s in statements if "codebuild" in json.dumps(s["Action"])]
    assert codebuild_statements == [
        {
            "Action": action,
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [project_id, "Arn"]},
        }
    ]


def test_the_build_may_push_to_the_stacks_repository_only(codebuild):
    template, _ = codebuild
    _, project = _one(template, "AWS::CodeBuild::Project")
    role = project["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
    policies = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role}]}}
    ).values()
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    pushes = [s for s in statements if "ecr:PutImage" in json.dumps(s["Action"])]
    assert len(pushes) == 1
    assert "ServiceImages" in json.dumps(pushes[0]["Resource"])
    assert "ecr:DescribeImages" in json.dumps(statements)
    # no action wildcards, no report groups; only the token (docker login) on every resource
    actions = [
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert not [a for a in actions if "*" in a or a.startswith("codebuild:")]
    assert [s["Action"] for s in statements if s["Resource"] == "*"] == [
        "ecr:GetAuthorizationToken"
    ]


def test_a_new_context_is_a_new_tag(synth, make_config, tmp_path):
    context = tmp_path / "image"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\nLABEL changed=1\n")
    template, _ = synth(dataclasses.replace(make_config(), image_context=context))
    _, image = _one(template, "Custom::ImageBuild")
    _, default = _one(synth(make_config())[0], "Custom::ImageBuild")
    assert image["Properties"]["ImageTag"] != default["Properties"]["ImageTag"]


def test_local_docker_is_the_cdk_clis_docker_asset(synth, make_config):
    template, manifest = synth(make_config(image_build="local-docker"))
    assert len(manifest["dockerImages"]) == 1
    assert not template.find_resources("Custom::ImageBuild")
    assert not template.find_resources("AWS::CodeBuild::Project")


@pytest.mark.parametrize("builder", ["codebuild", "local-docker"])
def test_an_image_tag_wins_over_either_build(synth, make_config, builder):
    template, manifest = synth(make_config(image_tag="2026.11.26-1", image_build=builder))
    assert manifest.get("dockerImages", {}) == {}
    assert not template.find_resources("Custom::ImageBuild")
    assert not template.find_resources("AWS::CodeBuild::Project")
    _, task = _one(template, "AWS::ECS::TaskDefinition")
    assert "2026.11.26-1" in json.dumps(task["Properties"]["ContainerDefinitions"][0]["Image"])


# -- the buildspec's commands, run by bash as CodeBuild runs them ---------------------------

REPOSITORY_URI = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/queryservice-images"
# ``docker login`` reads the password before it records its call: the pipe runs both sides at
# once, and only the password (written after ``aws`` recorded) orders the two lines.
STAND_IN = """#!/bin/bash
if [ "$1" = login ]; then cat > /dev/null; fi
echo "$(basename "$0") $*" >> "$CALLS"
if [ "$(basename "$0") $1 $2" = "aws ecr describe-images" ]; then exit "$PUSHED"; fi
[ "$(basename "$0") $1" = "aws ecr" ] && echo password
exit 0
"""


def run_buildspec(tmp_path: Path, **env: str) -> tuple[int, list[str]]:
    """Each command of the pre_build and build phases in bash, in order, stopping at the
    first that fails (as CodeBuild does), with ``aws`` and ``docker`` recording their calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("aws", "docker"):
        (bin_dir / tool).write_text(STAND_IN)
        (bin_dir / tool).chmod(0o755)
    calls = tmp_path / "calls"
    calls.write_text("")
    base = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(calls), "AWS_REGION": "ap-northeast-1"}
    spec = BUILD_SPEC["phases"]
    status = 0
    for command in [*spec["pre_build"]["commands"], *spec["build"]["commands"]]:
        status = subprocess.run(
            ["bash", "-c", command],
            check=False,
            env={**base, **BUILD_SPEC["env"]["variables"], **env},
        ).returncode
        if status:
            break
    return status, calls.read_text().splitlines()


def test_the_build_pushes_a_new_tag(tmp_path):
    status, calls = run_buildspec(
        tmp_path, IMAGE_TAG="ctx-1", REPOSITORY_URI=REPOSITORY_URI, PUSHED="1"
    )
    assert status == 0
    assert calls == [
        "aws ecr get-login-password --region ap-northeast-1",
        f"docker login --username AWS --password-stdin {REPOSITORY_URI.split('/', maxsplit=1)[0]}",
        "aws ecr describe-images --repository-name queryservice-images --image-ids imageTag=ctx-1",
        f"docker build --tag {REPOSITORY_URI}:ctx-1 .",
        f"docker push {REPOSITORY_URI}:ctx-1",
    ]


def test_a_tag_already_pushed_is_not_built_again(tmp_path):
    status, calls = run_buildspec(
        tmp_path, IMAGE_TAG="ctx-1", REPOSITORY_URI=REPOSITORY_URI, PUSHED="0"
    )
    assert status == 0
    assert not [c for c in calls if c.startswith(("docker build", "docker push"))]


def test_a_build_without_its_tag_fails_before_any_call(tmp_path):
    status, calls = run_buildspec(tmp_path, REPOSITORY_URI=REPOSITORY_URI, PUSHED="1")
    assert status != 0
    assert calls == []
