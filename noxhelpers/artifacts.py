"""The deployable artifacts in ``dist/``: the library wheels, the Lambda deployment package
(both Lambdas, binary wheels for the Lambda platform) and the image's build context.

``infra`` stages the Lambda package and the image context as CDK assets;
infra/tests/test_artifacts.py and test_retired_not_shipped.py check what they hold.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

from noxhelpers.workspace import ROOT, Member

__all__ = ["LAMBDA_PLATFORM", "build_artifacts"]

#: The Lambda platform the deployment package is resolved for (see infra: x86_64, 3.12).
LAMBDA_PLATFORM = ("--python-platform", "x86_64-manylinux_2_28", "--python-version", "3.12")
#: The workspace wheels the image installs (apps/ecs_service/Dockerfile).
IMAGE_WHEELS = ("query_core", "query_http_client", "query_ecs_service")


def _export(session: nox.Session, package: str, target: Path) -> None:
    """Third-party requirements of a member, pinned with hashes from uv.lock."""
    session.run(
        "uv",
        "export",
        "--frozen",
        "--package",
        package,
        "--no-dev",
        "--no-default-groups",
        "--no-emit-workspace",
        "--format",
        "requirements-txt",
        "--output-file",
        str(target),
        "--quiet",
        external=True,
    )


def _install(session: nox.Session, target: Path, *args: str) -> None:
    """``uv pip install --target`` for the Lambda platform, without dependencies."""
    session.run(
        "uv",
        "pip",
        "install",
        "--quiet",
        "--target",
        str(target),
        *LAMBDA_PLATFORM,
        "--no-deps",
        *args,
        external=True,
    )


def _lambda_package(session: nox.Session, dist: Path, wheel: dict[str, Path]) -> None:
    """dist/lambda/package: the locked binary wheels, then query-core and the Lambdas."""
    lambda_dir = dist / "lambda"
    lambda_dir.mkdir()
    _export(session, "query-lambdas", lambda_dir / "requirements.txt")
    package_dir = lambda_dir / "package"
    requirements = str(lambda_dir / "requirements.txt")
    _install(session, package_dir, "--only-binary", ":all:", "--require-hashes", "-r", requirements)
    _install(session, package_dir, str(wheel["query_core"]), str(wheel["query_lambdas"]))


def _image_context(session: nox.Session, dist: Path, wheel: dict[str, Path]) -> None:
    """dist/image: the build context of apps/ecs_service/Dockerfile."""
    image = dist / "image"
    (image / "wheels").mkdir(parents=True)
    _export(session, "query-ecs-service", image / "requirements.txt")
    for name in IMAGE_WHEELS:
        shutil.copy(wheel[name], image / "wheels")
    shutil.copy(ROOT / "apps" / "ecs_service" / "Dockerfile", image / "Dockerfile")


def build_artifacts(session: nox.Session, members: dict[str, Member]) -> None:
    """dist/: library wheels; dist/lambda/package (both Lambdas); dist/image (Docker context)."""
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    libraries = [name for name, member in members.items() if member.is_library]
    for package in [*libraries, "query-lambdas", "query-ecs-service"]:
        session.run(
            "uv",
            "build",
            "--wheel",
            "--package",
            package,
            "--out-dir",
            str(dist),
            "--quiet",
            external=True,
        )
    wheel = {p.name.split("-")[0]: p for p in dist.glob("*.whl")}
    _lambda_package(session, dist, wheel)
    _image_context(session, dist, wheel)
    session.log(f"built: {', '.join(sorted(wheel))}; dist/lambda/package; dist/image")
