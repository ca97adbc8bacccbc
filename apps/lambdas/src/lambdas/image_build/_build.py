"""What the ``Custom::ImageBuild`` resource does, given a CodeBuild client.

``start`` (the provider's onEvent) starts one build of the image context for a Create or an
Update and answers the resource's physical id (the image URI) with the build's id; a Delete
keeps the image (the stack's previous task definition may still run it, and a rollback needs
it). ``poll`` (isComplete) reads the build: running, done, or a failure whose message names
the build's status, phase and log, which CloudFormation shows as the resource's reason.
docs/decisions/0014-image-build-in-codebuild.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = ["ImageBuildError", "poll", "start"]

#: The resource's properties, all required (infra/src/query_infra/image_build.py sets them).
PROPERTIES: Final = ("ProjectName", "SourceLocation", "RepositoryUri", "ImageTag")
#: CodeBuild's statuses of a finished build that pushed nothing.
FAILED: Final = frozenset({"FAILED", "FAULT", "TIMED_OUT", "STOPPED"})
#: Error codes worth polling again after (the provider asks again in 30 s).
TRANSIENT: Final = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
    }
)


class ImageBuildError(Exception):
    """The image was not built: one line CloudFormation shows as the resource's reason.

    ``transient``: CodeBuild was throttled, failed (5xx) or did not answer; asking again may do.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def _properties(event: Mapping[str, Any]) -> dict[str, str]:
    given = event.get("ResourceProperties") or {}
    missing = [name for name in PROPERTIES if not str(given.get(name) or "")]
    if missing:
        raise ImageBuildError(f"Custom::ImageBuild is missing {', '.join(missing)}")
    return {name: str(given[name]) for name in PROPERTIES}


def _call(what: str, call: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """One CodeBuild call; its errors become one ``ImageBuildError`` line (the one boundary)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = error.get("Code") or f"HTTP {status}"
        transient = code in TRANSIENT or (isinstance(status, int) and status >= 500)
        raise ImageBuildError(
            f"{what}: CodeBuild answered {code}: {error.get('Message') or 'no message'}",
            transient=transient,
        ) from exc
    except BotoCoreError as exc:
        raise ImageBuildError(f"{what}: CodeBuild did not answer: {exc}", transient=True) from exc


def image_uri(properties: Mapping[str, str]) -> str:
    return f"{properties['RepositoryUri']}:{properties['ImageTag']}"


def start(event: Mapping[str, Any], codebuild: Any) -> dict[str, Any]:
    """onEvent: a Create or Update starts the build; a Delete keeps the image."""
    request = event.get("RequestType")
    if request == "Delete":
        return {"PhysicalResourceId": event.get("PhysicalResourceId") or "deleted"}
    if request not in ("Create", "Update"):
        raise ImageBuildError(f"not a CloudFormation request: RequestType {request!r}")
    properties = _properties(event)
    answer = _call(
        f"starting the build of {properties['ImageTag']}",
        codebuild.start_build,
        projectName=properties["ProjectName"],
        sourceTypeOverride="S3",
        sourceLocationOverride=properties["SourceLocation"],
        environmentVariablesOverride=[
            {"name": "IMAGE_TAG", "value": properties["ImageTag"], "type": "PLAINTEXT"},
            {"name": "REPOSITORY_URI", "value": properties["RepositoryUri"], "type": "PLAINTEXT"},
        ],
    )
    build_id = str(answer.get("build", {}).get("id") or "")
    if not build_id:
        raise ImageBuildError("CodeBuild started no build: its answer holds no build id")
    return {
        "PhysicalResourceId": image_uri(properties),
        "Data": {"BuildId": build_id, "ImageTag": properties["ImageTag"]},
    }


def _failure(build: Mapping[str, Any]) -> str:
    """The build's status, the phase that failed and its message, and the log's link."""
    failed = [p for p in build.get("phases") or [] if p.get("phaseStatus") in FAILED]
    phase = failed[-1] if failed else {}
    contexts = phase.get("contexts") or [{}]
    message = "; ".join(str(c.get("message")) for c in contexts if c.get("message"))
    where = f" in {phase['phaseType']}" if phase.get("phaseType") else ""
    log = (build.get("logs") or {}).get("deepLink") or "no log link"
    detail = f": {message}" if message else ""
    return f"image build {build.get('id')} {build.get('buildStatus')}{where}{detail}; log: {log}"


def poll(event: Mapping[str, Any], codebuild: Any) -> dict[str, Any]:
    """isComplete: done when the build succeeded; a failed build raises with its reason.

    A throttled or unanswered poll is not a verdict: it answers "not yet" and the provider
    asks again (its total timeout bounds the wait).
    """
    if event.get("RequestType") == "Delete":
        return {"IsComplete": True}
    build_id = str((event.get("Data") or {}).get("BuildId") or "")
    if not build_id:
        raise ImageBuildError("isComplete without the build id onEvent answered")
    try:
        answer = _call(f"reading build {build_id}", codebuild.batch_get_builds, ids=[build_id])
    except ImageBuildError as exc:
        if exc.transient:
            return {"IsComplete": False}
        raise
    builds = answer.get("builds") or []
    if not builds:
        raise ImageBuildError(f"CodeBuild knows no build {build_id}")
    build = builds[0]
    status = build.get("buildStatus")
    if status == "SUCCEEDED":
        tag = str((event.get("Data") or {}).get("ImageTag") or "")
        return {"IsComplete": True, "Data": {"BuildId": build_id, "ImageTag": tag}}
    if status in FAILED:
        raise ImageBuildError(_failure(build))
    return {"IsComplete": False}
