"""The image build's custom resource handlers, over HTTP: on moto's server (which marks every
build SUCCEEDED at its first read) for the whole Create, and on the misbehaving server for
what moto cannot do (a build that fails or runs, a throttled or failing CodeBuild).

The handlers are called as the Provider framework calls them, with the endpoint given the
way boto3 reads it (``AWS_ENDPOINT_URL_CODEBUILD``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from lambdas.image_build import handler
from lambdas.image_build._build import ImageBuildError, poll, start
from query_devstack import MisbehavingServer, RecordedRequest, Reply

pytestmark = pytest.mark.usefixtures("fake_aws_credentials")

PROJECT = "query-image-build"
REPOSITORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/query-service"
PROPERTIES = {
    "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
    "ProjectName": PROJECT,
    "SourceLocation": "cdk-hnb659fds-assets-123456789012-us-east-1/0a1b2c.zip",
    "RepositoryUri": REPOSITORY,
    "ImageTag": "ctx-0a1b2c3d4e5f60718293a4b5c6d7e8f9",
}
IMAGE = f"{REPOSITORY}:{PROPERTIES['ImageTag']}"
BUILD_ID = f"{PROJECT}:6f1c2d3e-0000-4000-8000-000000000001"
LOG_LINK = "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups"


def event(request: str = "Create", **extra: Any) -> dict[str, Any]:
    """A CloudFormation request as the Provider framework hands it to onEvent."""
    return {
        "RequestType": request,
        "ServiceToken": PROPERTIES["ServiceToken"],
        "ResponseURL": "https://cloudformation-custom-resource-response.example/",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/QueryService-dev/1",
        "RequestId": "request-1",
        "LogicalResourceId": "ServiceImageBuildImage",
        "ResourceType": "Custom::ImageBuild",
        "ResourceProperties": dict(PROPERTIES),
        **extra,
    }


def polled(request: str = "Create") -> dict[str, Any]:
    """isComplete's event: onEvent's answer merged in."""
    data = {"BuildId": BUILD_ID, "ImageTag": PROPERTIES["ImageTag"]}
    return event(request, PhysicalResourceId=IMAGE, Data=data)


def once(endpoint: str) -> Any:
    """A CodeBuild client that asks once: each fault reaches the code under test."""
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=5)
    return boto3.client("codebuild", endpoint_url=endpoint, config=config)


# -- moto's server: the whole Create through the handlers ----------------------------------


@pytest.fixture
def moto_codebuild(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODEBUILD", moto_endpoint)
    client = boto3.client("codebuild", endpoint_url=moto_endpoint)
    if PROJECT not in client.list_projects()["projects"]:
        client.create_project(
            name=PROJECT,
            source={"type": "S3", "location": PROPERTIES["SourceLocation"]},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={
                "type": "LINUX_CONTAINER",
                "image": "aws/codebuild/standard:7.0",
                "computeType": "BUILD_GENERAL1_SMALL",
                "privilegedMode": True,
            },
            serviceRole="arn:aws:iam::123456789012:role/query-image-build",
        )
    return client


def test_create_starts_a_build_and_completes_when_it_succeeded(moto_codebuild):
    started = handler.on_event(event(), None)
    assert started["PhysicalResourceId"] == IMAGE
    build_id = started["Data"]["BuildId"]
    assert build_id.startswith(f"{PROJECT}:")
    assert build_id in moto_codebuild.list_builds_for_project(projectName=PROJECT)["ids"]

    done = handler.is_complete({**event(), **started}, None)
    assert done == {
        "IsComplete": True,
        "Data": {"BuildId": build_id, "ImageTag": PROPERTIES["ImageTag"]},
    }


def test_an_unknown_project_fails_the_create_with_codebuilds_reason(moto_codebuild):
    wrong = event()
    wrong["ResourceProperties"]["ProjectName"] = "no-such-project"
    with pytest.raises(ImageBuildError, match=r"ResourceNotFoundException: Project cannot be"):
        handler.on_event(wrong, None)


# -- the misbehaving server: what moto cannot do -------------------------------------------


def _json(status: int, document: Any) -> Reply:
    return Reply(status=status, body=json.dumps(document).encode())


def build(status: str, phases: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "id": BUILD_ID,
        "buildStatus": status,
        "currentPhase": "COMPLETED" if status != "IN_PROGRESS" else "BUILD",
        "phases": phases or [],
        "logs": {"deepLink": LOG_LINK},
    }


class CodeBuild:
    """CodeBuild's JSON API: each action answers what the test set, and counts its calls."""

    def __init__(self) -> None:
        self.answers: dict[str, list[Reply]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: RecordedRequest) -> Reply:
        action = request.headers.get("x-amz-target", "").rpartition(".")[2]
        self.calls.append((action, json.loads(request.body or b"{}")))
        queue = self.answers.get(action) or [_json(400, {"__type": "UnknownOperation"})]
        return queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.fixture
def codebuild(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[CodeBuild, MisbehavingServer]]:
    fake = CodeBuild()
    with MisbehavingServer(fake) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CODEBUILD", server.url)
        yield fake, server


THROTTLED = _json(400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
FAILING = _json(500, {"__type": "InternalFailure", "message": "internal error"})


def test_the_build_gets_the_assets_location_the_tag_and_the_repository(codebuild):
    fake, server = codebuild
    fake.answers["StartBuild"] = [_json(200, {"build": build("IN_PROGRESS")})]
    answer = start(event("Update"), once(server.url))
    assert answer["Data"] == {"BuildId": BUILD_ID, "ImageTag": PROPERTIES["ImageTag"]}
    ((action, body),) = fake.calls
    assert action == "StartBuild"
    assert body["projectName"] == PROJECT
    assert (body["sourceTypeOverride"], body["sourceLocationOverride"]) == (
        "S3",
        PROPERTIES["SourceLocation"],
    )
    variables = {v["name"]: v["value"] for v in body["environmentVariablesOverride"]}
    assert variables == {"IMAGE_TAG": PROPERTIES["ImageTag"], "REPOSITORY_URI": REPOSITORY}


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (THROTTLED, "CodeBuild answered ThrottlingException: Rate exceeded"),
        (FAILING, "CodeBuild answered InternalFailure: internal error"),
        (Reply(close_without_answer=True), "CodeBuild did not answer"),
    ],
)
def test_a_start_codebuild_refuses_fails_the_resource_with_its_reason(codebuild, reply, reason):
    fake, server = codebuild
    fake.answers["StartBuild"] = [reply]
    with pytest.raises(ImageBuildError) as caught:
        start(event(), once(server.url))
    assert str(caught.value).startswith(f"starting the build of {PROPERTIES['ImageTag']}: ")
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


def test_on_event_rides_out_one_throttle(codebuild):
    """The handler's own client retries (botocore's standard mode)."""
    fake, _ = codebuild
    fake.answers["StartBuild"] = [THROTTLED, _json(200, {"build": build("IN_PROGRESS")})]
    assert handler.on_event(event(), None)["PhysicalResourceId"] == IMAGE
    assert [action for action, _ in fake.calls] == ["StartBuild", "StartBuild"]


def test_a_failed_build_fails_the_resource_with_its_phase_message_and_log(codebuild):
    fake, _ = codebuild
    phases = [
        {"phaseType": "PRE_BUILD", "phaseStatus": "SUCCEEDED"},
        {
            "phaseType": "BUILD",
            "phaseStatus": "FAILED",
            "contexts": [{"statusCode": "COMMAND_EXECUTION_ERROR", "message": "exit status 1"}],
        },
    ]
    fake.answers["BatchGetBuilds"] = [_json(200, {"builds": [build("FAILED", phases)]})]
    with pytest.raises(ImageBuildError) as caught:
        handler.is_complete(polled(), None)
    assert str(caught.value) == (
        f"image build {BUILD_ID} FAILED in BUILD: exit status 1; log: {LOG_LINK}"
    )


@pytest.mark.parametrize("status", ["TIMED_OUT", "STOPPED", "FAULT"])
def test_a_build_that_ended_otherwise_fails_the_resource(codebuild, status):
    fake, server = codebuild
    fake.answers["BatchGetBuilds"] = [_json(200, {"builds": [build(status)]})]
    with pytest.raises(ImageBuildError, match=rf"^image build \S+ {status}; log: "):
        poll(polled(), once(server.url))


@pytest.mark.parametrize(
    "reply",
    [
        _json(200, {"builds": [build("IN_PROGRESS")]}),
        THROTTLED,
        FAILING,
        Reply(close_without_answer=True),
    ],
    ids=["running", "throttled", "5xx", "no answer"],
)
def test_a_running_build_or_a_poll_without_answer_is_not_complete_yet(codebuild, reply):
    fake, server = codebuild
    fake.answers["BatchGetBuilds"] = [reply]
    assert poll(polled(), once(server.url)) == {"IsComplete": False}


def test_a_poll_codebuild_refuses_fails_the_resource(codebuild):
    fake, server = codebuild
    fake.answers["BatchGetBuilds"] = [
        _json(400, {"__type": "InvalidInputException", "message": "Invalid build ID provided"})
    ]
    with pytest.raises(ImageBuildError, match="InvalidInputException: Invalid build ID"):
        poll(polled(), once(server.url))
    fake.answers["BatchGetBuilds"] = [_json(200, {"builds": []})]
    with pytest.raises(ImageBuildError, match=f"CodeBuild knows no build {BUILD_ID}"):
        poll(polled(), once(server.url))


def test_delete_keeps_the_image_and_calls_nothing(codebuild):
    fake, _ = codebuild
    assert handler.on_event(event("Delete", PhysicalResourceId=IMAGE), None) == {
        "PhysicalResourceId": IMAGE
    }
    assert handler.is_complete(event("Delete", PhysicalResourceId=IMAGE), None) == {
        "IsComplete": True
    }
    assert fake.calls == []


def test_a_resource_without_its_properties_is_refused_before_any_call(codebuild):
    fake, _ = codebuild
    bare = event()
    bare["ResourceProperties"] = {"ServiceToken": PROPERTIES["ServiceToken"], "ImageTag": "x"}
    with pytest.raises(
        ImageBuildError, match=r"^Custom::ImageBuild is missing ProjectName, SourceLocation, "
    ):
        handler.on_event(bare, None)
    with pytest.raises(ImageBuildError, match="RequestType 'Replace'"):
        handler.on_event(event("Replace"), None)
    with pytest.raises(ImageBuildError, match="without the build id"):
        handler.is_complete(event(), None)
    assert fake.calls == []
