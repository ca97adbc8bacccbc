"""``nox -s security``: checkov and bandit, with the accepted findings of ``skips.toml``.

1. Synthesizes the CDK app for each context of ``infra/tests/contexts.json`` (stand-in assets:
   the scanners read the templates, not the asset contents).
2. Runs checkov (from its own environment: it pins a boto3 below the workspace's) on those
   templates and on ``apps/ecs_service/Dockerfile``, and bandit on every source folder.
3. Fails on a finding no entry of ``skips.toml`` accepts, and on an entry that matches no
   finding (stale skips do not pile up). Prints one line per finding either way.

Usage: ``python infra/scanners/scan.py --checkov PATH/TO/checkov``
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SKIPS = Path(__file__).with_name("skips.toml")
CONTEXTS = ROOT / "infra" / "tests" / "contexts.json"
DOCKERFILE = ROOT / "apps" / "ecs_service" / "Dockerfile"
#: Every source folder bandit reads; tests are left out (pytest's asserts are their point).
SOURCES = [
    "packages",
    "apps",
    "infra/src",
    "infra/app.py",
    "infra/scanners",
    "bench",
    "noxfile.py",
    "noxhelpers",
    "docs/hooks.py",
]
EXCLUDED = ["*/tests/*", "*/node_modules/*", "*/.nox/*"]


@dataclass(frozen=True)
class Finding:
    tool: str
    check: str
    where: str  # checkov: "Type.LogicalId" or the Dockerfile's resource; bandit: path:line
    what: str


def synthesize(outdir: Path) -> list[Path]:
    """Each context's template, synthesized offline with stand-in assets."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from aws_cdk import App, Environment
    from query_infra.context import read_context
    from query_infra.stack import QueryServiceStack

    assets = outdir / "assets"
    (assets / "lambda" / "lambdas").mkdir(parents=True)
    (assets / "image").mkdir()
    (assets / "image" / "Dockerfile").write_text("FROM scratch\n")
    templates = []
    for name, context in json.loads(CONTEXTS.read_text()).items():
        app = App(outdir=str(outdir / name), context=context)
        config = read_context(app, lambda_package=assets / "lambda", image_context=assets / "image")
        stack = QueryServiceStack(
            app,
            f"QueryService-{config.environment}",
            config=config,
            env=Environment(account=config.account or None, region=config.region or None),
        )
        app.synth()
        templates.append(outdir / name / f"{stack.stack_name}.template.json")
    return templates


def checkov(executable: str, files: list[Path]) -> list[Finding]:
    args = [
        executable,
        "--quiet",
        "--compact",
        "--skip-download",
        "--output",
        "json",
        "--framework",
        "cloudformation",
        "dockerfile",
    ]
    for path in files:
        args += ["--file", str(path)]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    result = subprocess.run(args, capture_output=True, text=True, check=False, env=env)
    if result.returncode not in (0, 1):
        sys.exit(f"checkov failed ({result.returncode}):\n{result.stderr[-2000:]}")
    reports = json.loads(result.stdout or "[]")
    return [
        Finding("checkov", failed["check_id"], failed["resource"], failed["check_name"])
        for report in (reports if isinstance(reports, list) else [reports])
        for failed in report.get("results", {}).get("failed_checks", [])
    ]


def bandit() -> list[Finding]:
    args = [
        sys.executable,
        "-m",
        "bandit",
        "--quiet",
        "--recursive",
        "--format",
        "json",
        "--exclude",
        ",".join(EXCLUDED),
        *SOURCES,
    ]
    result = subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT)
    if result.returncode not in (0, 1):
        sys.exit(f"bandit failed ({result.returncode}):\n{result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    if report.get("errors"):
        sys.exit(f"bandit could not read: {report['errors']}")
    return [
        Finding(
            "bandit",
            r["test_id"],
            f"{r['filename'].removeprefix('./')}:{r['line_number']}",
            f"{r['issue_severity']}: {r['issue_text']}",
        )
        for r in report["results"]
    ]


def accepts(entry: dict[str, Any], finding: Finding) -> bool:
    if entry["id"] != finding.check:
        return False
    if finding.tool == "checkov":
        return any(finding.where.startswith(prefix) for prefix in entry["resources"])
    path = finding.where.rsplit(":", 1)[0]
    return any(fnmatch.fnmatch(path, pattern) for pattern in entry["paths"])


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkov", required=True, help="the checkov executable")
    options = parser.parse_args()
    skips = tomllib.loads(SKIPS.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        templates = synthesize(Path(tmp))
        findings = checkov(options.checkov, [*templates, DOCKERFILE]) + bandit()
    entries = [("checkov", e) for e in skips.get("checkov", [])]
    entries += [("bandit", e) for e in skips.get("bandit", [])]
    used: set[int] = set()
    refused = []
    for finding in sorted(set(findings), key=lambda f: (f.tool, f.check, f.where)):
        matched = [
            i for i, (tool, e) in enumerate(entries) if tool == finding.tool and accepts(e, finding)
        ]
        used.update(matched)
        status = "accepted" if matched else "REFUSED"
        say(f"{status:8} {finding.tool} {finding.check} {finding.where} - {finding.what}")
        if not matched:
            refused.append(finding)
    stale = [f"{tool} {e['id']}" for i, (tool, e) in enumerate(entries) if i not in used]
    for entry in stale:
        say(f"STALE    {entry}: matches no finding any more; remove it from {SKIPS.name}")
    say(f"{len(set(findings))} findings, {len(refused)} refused, {len(stale)} stale skips")
    return 1 if refused or stale else 0


if __name__ == "__main__":
    sys.exit(main())
