"""The ``Custom::ImageBuild`` resource's two Lambdas (the CDK Provider framework's):
``lambdas.image_build.handler.on_event`` starts the image's build in CodeBuild,
``lambdas.image_build.handler.is_complete`` polls it every 30 s until it pushed the image.

A raised ``ImageBuildError`` is the resource's failure: the framework hands its message to
CloudFormation as the reason. docs/decisions/0014-image-build-in-codebuild.md.
"""

from __future__ import annotations

import logging
from typing import Any

from query_core import configure_json_logging

from lambdas.image_build._build import ImageBuildError, poll, start

__all__ = ["ImageBuildError", "is_complete", "on_event"]

_log = logging.getLogger("lambdas.image_build")


def _codebuild() -> Any:
    import boto3
    from botocore.config import Config

    # botocore's standard retries ride out a short throttle; the provider's poll does the rest.
    config = Config(
        retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=20
    )
    return boto3.client("codebuild", config=config)


def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """onEvent: Create/Update start the build; Delete keeps the pushed image."""
    try:
        answer = start(event, _codebuild())
    except ImageBuildError as exc:
        _log.error("image build not started: %s", exc, extra={"request": event.get("RequestType")})
        raise
    _log.info("image build %s", event.get("RequestType"), extra={"answer": answer})
    return answer


def is_complete(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """isComplete: ``IsComplete`` once the image is pushed; raises when the build failed."""
    try:
        answer = poll(event, _codebuild())
    except ImageBuildError as exc:
        _log.error("image build failed: %s", exc)
        raise
    _log.info("image build complete: %s", answer["IsComplete"], extra={"answer": answer})
    return answer


configure_json_logging()
