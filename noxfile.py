"""The sessions everyone runs, CI included: ``nox`` runs the default list.

Every session installs from ``uv.lock`` (``uv sync --frozen``) into its own virtualenv,
and tests of one workspace member run in an environment holding only that member's
declared dependencies (plus its ``test`` group), so an undeclared import fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "typecheck", "tests", "build", "infra", "docs"]

PYTHON = "3.12"
ROOT = Path(__file__).parent

#: Workspace members: distribution name -> (folder, import name, extras its tests need).
MEMBERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "query-core": ("packages/query_core", "query_core", ("dynamodb",)),
    "query-http-client": ("packages/query_http_client", "query_http_client", ("sigv4", "lambda")),
    "query-devstack": ("packages/query_devstack", "query_devstack", ()),
    "query-lambdas": ("apps/lambdas", "lambdas", ()),
    "query-ecs-service": ("apps/ecs_service", "ecs_service", ()),
    "query-local-stack": ("apps/local_stack", "local_stack", ()),
    "query-migrate": ("apps/query_migrate", "query_migrate", ()),
}
LIBRARIES = ["query-core", "query-http-client", "query-devstack"]
#: Type-checked too; its tests run in `infra` (they need the build's assets).
TYPECHECKED = {**MEMBERS, "query-infra": ("infra", "query_infra", ())}


def sync(session: nox.Session, package: str | None, *groups: str, extras: tuple[str, ...] = ()):
    """Install a member (or only groups) from the lock into the session's virtualenv."""
    args = ["uv", "sync", "--frozen", "--no-default-groups", "--inexact"]
    args += ["--package", package] if package else ["--no-install-workspace"]
    args += [f"--group={group}" for group in groups]
    args += [f"--extra={extra}" for extra in extras]
    session.run_install(
        *args, env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location}, silent=True
    )


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole workspace."""
    sync(session, None, "lint")
    session.run("ruff", "check", *(session.posargs or ["."]))
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
@nox.parametrize("member", list(TYPECHECKED))
def typecheck(session: nox.Session, member: str) -> None:
    """mypy --strict on one member's sources, with only that member's dependencies."""
    folder, _, extras = TYPECHECKED[member]
    sync(session, member, "typecheck", extras=extras)
    session.run("mypy", "--config-file", str(ROOT / "pyproject.toml"), f"{folder}/src")


@nox.session(python=PYTHON)
@nox.parametrize("member", list(MEMBERS))
def tests(session: nox.Session, member: str) -> None:
    """pytest for one member, in an environment of its declared dependencies; branch coverage."""
    folder, import_name, extras = MEMBERS[member]
    sync(session, member, "test", extras=extras)
    coverage_file = ROOT / f".coverage.{member}"
    session.run(
        "pytest",
        f"{folder}/tests",
        f"--cov={import_name}",
        "--cov-branch",
        "--cov-report=term",
        *session.posargs,
        env={"COVERAGE_FILE": str(coverage_file)},
    )


@nox.session(python=PYTHON)
def e2e(session: nox.Session) -> None:
    """Only the end-to-end tests: the local stack as real processes, walked over HTTP."""
    sync(session, "query-local-stack", "test")
    session.run("pytest", "apps/local_stack/tests", "-m", "e2e", *session.posargs)


@nox.session(python=PYTHON)
def infra(session: nox.Session) -> None:
    """The CDK app: build the assets, synthesize (cdk-nag AwsSolutions), assert, cfn-lint."""
    build_artifacts(session)
    sync(session, "query-infra", "test")
    session.run(
        "pytest", "infra/tests", *session.posargs,
        env={"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
    )  # fmt: skip


def _ensure_chromium(session: nox.Session) -> None:
    """Debian's chromium for the site's browser test, installed when missing (CI runs as root)."""
    if shutil.which("chromium"):
        return
    if not shutil.which("apt-get") or os.geteuid() != 0:
        session.error("the docs' browser test needs Debian's chromium: apt-get install chromium")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", "-qq", external=True, env=env, silent=True)
    session.run("apt-get", "install", "-y", "-qq", "chromium", external=True, env=env, silent=True)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """The site: mermaid bundled from npm, `mkdocs build --strict`, then its checks in chromium."""
    sync(session, "query-local-stack", "docs")
    session.run("npm", "ci", "--prefix", "docs", "--no-audit", "--no-fund", "--silent",
                external=True, silent=True)  # fmt: skip
    assets = ROOT / "docs" / "assets"
    assets.mkdir(exist_ok=True)
    shutil.copy(ROOT / "docs" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js", assets)
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})
    _ensure_chromium(session)
    session.run("pytest", "docs/tests", *session.posargs)


@nox.session(python=PYTHON, default=False)
def serve(session: nox.Session) -> None:
    """The whole chain on 127.0.0.1 with demo data; options after --, e.g. -- --help."""
    sync(session, "query-local-stack")
    # On Ctrl-C nox would SIGTERM the chain after 0.3 s and SIGKILL it 0.2 s later; give it
    # the time its ordered stop is bounded by (local_stack._processes.STOP_BOUND_SECONDS).
    session.run(
        "python", "-m", "local_stack", *session.posargs,
        interrupt_timeout=20, terminate_timeout=10,
    )  # fmt: skip


#: The Lambda platform the deployment package is resolved for (see infra: x86_64, 3.12).
LAMBDA_PLATFORM = ("--python-platform", "x86_64-manylinux_2_28", "--python-version", "3.12")


def _export(session: nox.Session, package: str, target: Path) -> None:
    """Third-party requirements of a member, pinned with hashes from uv.lock."""
    session.run(
        "uv", "export", "--frozen", "--package", package, "--no-dev", "--no-default-groups",
        "--no-emit-workspace", "--format", "requirements-txt", "--output-file", str(target),
        "--quiet", external=True,
    )  # fmt: skip


def build_artifacts(session: nox.Session) -> None:
    """dist/: library wheels; dist/lambda/package (both Lambdas); dist/image (Docker context)."""
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for package in [*LIBRARIES, "query-lambdas", "query-ecs-service"]:
        session.run("uv", "build", "--wheel", "--package", package, "--out-dir", str(dist),
                    "--quiet", external=True)  # fmt: skip
    wheel = {p.name.split("-")[0]: p for p in dist.glob("*.whl")}
    # The Lambda deployment package: binary wheels for the Lambda platform, no build step.
    lambda_dir = dist / "lambda"
    lambda_dir.mkdir()
    _export(session, "query-lambdas", lambda_dir / "requirements.txt")
    package_dir = lambda_dir / "package"
    session.run(
        "uv", "pip", "install", "--quiet", "--target", str(package_dir), *LAMBDA_PLATFORM,
        "--only-binary", ":all:", "--require-hashes", "--no-deps",
        "-r", str(lambda_dir / "requirements.txt"), external=True,
    )  # fmt: skip
    session.run(
        "uv", "pip", "install", "--quiet", "--target", str(package_dir), *LAMBDA_PLATFORM,
        "--no-deps", str(wheel["query_core"]), str(wheel["query_lambdas"]), external=True,
    )  # fmt: skip
    # The image build context for apps/ecs_service/Dockerfile.
    image = dist / "image"
    (image / "wheels").mkdir(parents=True)
    _export(session, "query-ecs-service", image / "requirements.txt")
    for name in ("query_core", "query_http_client", "query_ecs_service"):
        shutil.copy(wheel[name], image / "wheels")
    shutil.copy(ROOT / "apps" / "ecs_service" / "Dockerfile", image / "Dockerfile")
    session.log(f"built: {', '.join(sorted(wheel))}; dist/lambda/package; dist/image")


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Wheels of the libraries, the Lambda deployment package and the image build context."""
    build_artifacts(session)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks, printed as ratios against baselines measured in the same run."""
    sync(session, "query-local-stack", "bench")
    env = {}
    if shutil.which("npm"):  # dynalite, for page latency at 100k items (see bench/run.py)
        session.run(
            "npm", "ci", "--prefix", "bench", "--no-audit", "--no-fund", "--silent",
            external=True, silent=True,
        )  # fmt: skip
        env["DYNALITE_BIN"] = str(ROOT / "bench" / "node_modules" / ".bin" / "dynalite")
    session.run("python", "bench/run.py", *session.posargs, env=env)
