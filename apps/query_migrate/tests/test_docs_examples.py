"""The runbook's example outputs and the reference page's --help texts, made by running the
commands, so that the docs cannot drift from the code.

The files live in ``apps/query_migrate/docs/`` and the pages include them with
pymdownx.snippets. This test runs every command again and compares: the help texts exactly,
the example outputs by shape (numbers may differ from run to run; labels, checks, columns and
verdicts may not). After a deliberate change, rewrite them with

    QUERY_MIGRATE_WRITE_DOCS=1 ./nox -s "tests(member='query-migrate')" -- -k docs_examples

smoke and shadow run against the local chain (``nox -s serve``'s parts, on free ports here;
shown with serve's default ports); preflight, attach, status and detach run against an account
built in moto's server (shown with the ids replaced by stable ones).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from query_migrate import commands as registry
from query_migrate.cli import cli

DOCS = Path(__file__).parents[1] / "docs"
WRITE = os.environ.get("QUERY_MIGRATE_WRITE_DOCS") == "1"
HOW = "QUERY_MIGRATE_WRITE_DOCS=1 ./nox -s \"tests(member='query-migrate')\" -- -k docs_examples"
#: Every registered command: a new one gets its help page and --help checks here.
COMMANDS = tuple(str(command.name) for command in registry.COMMANDS)
WIDTH = 100


def _shape(text: str) -> str:
    """What must not change: every word; not the numbers, nor the column widths they cause."""
    text = re.sub(r"\d+(\.\d+)?", "9", text)
    return re.sub(r"[\s─━═│┃┏┓┗┛┡┩┣┫┳┻╇╋┌┐└┘├┤┬┴┼]+", " ", text).strip()


def check_snippet(name: str, text: str, *, exact: bool) -> None:
    path = DOCS / name
    if WRITE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.exists(), f"{path} is missing; write it with: {HOW}"
    committed = path.read_text()
    if exact:
        assert committed == text, f"{path} is stale; rewrite it with: {HOW}"
    else:
        assert _shape(committed) == _shape(text), f"{path} is stale; rewrite it with: {HOW}"


class Stable:
    """Replaces volatile ids by stable ones of the same length (tables keep their layout)."""

    PATTERNS = (
        r"\b(?:sg|vpc|subnet|vpce|rtb)-[0-9a-f]{8,17}\b",
        r"\bd-[A-Z0-9]{9}\b",
        r"\b[0-9a-f]{16}\b",  # attach's hashes of the API
        r"\bsmoke-[0-9a-f]{12}\b",
        r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
    )

    def __init__(self) -> None:
        self.known: dict[str, str] = {}

    def add(self, value: str, replacement: str | None = None) -> None:
        if value and value not in self.known:
            self.known[value] = replacement or self._make(value)

    def _make(self, value: str) -> str:
        """Same length and punctuation; a kept prefix (``sg-``); then zeros and a counter."""
        match = re.match(r"^(?:sg|vpc|subnet|vpce|rtb|smoke|d)-", value)
        keep = match.end() if match else 0
        counter = f"{len(self.known) + 1:x}"
        slots = [i for i, c in enumerate(value) if c.isalnum() and i >= keep]
        fill = ("0" * len(slots) + counter)[-len(slots) :]
        chars = list(value)
        for index, char in zip(slots, fill, strict=True):
            chars[index] = char
        return "".join(chars)

    def __call__(self, text: str) -> str:
        for pattern in self.PATTERNS:
            for match in re.findall(pattern, text):
                self.add(match)
        for value in sorted(self.known, key=len, reverse=True):
            text = text.replace(value, self.known[value])
        return text


def _run(args: list[str], *, shown: str, stable: Stable | None = None, code: int = 0) -> str:
    result = CliRunner().invoke(
        cli,
        args,
        catch_exceptions=False,
        terminal_width=WIDTH,
        prog_name="query-migrate",
        env={"COLUMNS": str(WIDTH)},
    )
    assert result.exit_code == code, result.output + result.stderr
    output = result.stdout
    if stable is not None:
        output = stable(output)
    return f"$ {shown}\n{output}"


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_texts(command: str) -> None:
    args = [command, "--help"] if command else ["--help"]
    result = CliRunner().invoke(cli, args, terminal_width=WIDTH, prog_name="query-migrate")
    assert result.exit_code == 0
    check_snippet(f"help/{command or 'query-migrate'}.txt", result.stdout, exact=True)


def _canary(aws, canary) -> dict[str, str]:
    """Version 2 of the Query Lambda at 10 % on the alias, its CodeDeploy deployment, metrics."""
    lam = aws("lambda")
    lam.update_function_configuration(FunctionName="query-lambda", Description="ECS target")
    second = lam.publish_version(FunctionName="query-lambda")["Version"]
    first = lam.get_alias(FunctionName="query-lambda", Name="live")["FunctionVersion"]
    lam.update_alias(
        FunctionName="query-lambda",
        Name="live",
        RoutingConfig={"AdditionalVersionWeights": {second: 0.1}},
    )
    canary("QueryService-prod", "live", {first: (1184, 0), second: (131, 0)})
    return {
        "CodeDeployApplicationName": "QueryService-prod",
        "CodeDeployDeploymentGroupName": "live",
    }


def test_aws_examples(
    run, account, make_api, aws, canary, stack, limits, tmp_path, monkeypatch
) -> None:
    """preflight, attach (dry run, then for real), status and detach on one account (preflight
    and status through the front that answers Lambda's GetAccountSettings)."""
    monkeypatch.chdir(tmp_path)
    api = make_api()
    stack(
        "QueryService-prod",
        {
            "ResultsTableName": account.table,
            "VpcId": account.vpc,
            "QueryLambdaFunctionName": "query-lambda",
            "QueryLambdaAliasArn": api.alias_arn,
            "TargetGroupArn": account.target_group,
            "EcsClusterName": "query",
            "EcsServiceName": "query-service",
            "AlarmNames": ",".join(account.alarms),
            **_canary(aws, canary),
        },
    )
    Path("cdk.context.json").write_text(
        json.dumps(
            {
                "vpcId": account.vpc,
                "trafficTarget": "ecs",
                "existingVpcEndpoints": ["ecr.api"],
                "executeApiPrivateDns": False,
                "existingPublicApiId": api.api_id,
                "existingPublicApiStage": "prod",
            },
            indent=2,
        )
    )
    stable = Stable()
    stable.add(api.api_id, "a1b2c3d4e5")
    for resource_id in api.resources.values():
        stable.add(resource_id)
    stable.add(api.deployment(run.moto_url))
    base = ["--stack", "QueryService-prod", "--context-file", "cdk.context.json"]
    endpoint = ["--endpoint-url", run.moto_url]
    front = ["--endpoint-url", limits.url]
    shown = "query-migrate {} --stack QueryService-prod --context-file cdk.context.json"

    preflight = _run(
        ["preflight", *base, *front], shown=shown.format("preflight"), stable=stable, code=1
    )
    dry = _run(
        ["attach", *base, "--dry-run", *endpoint],
        shown=shown.format("attach") + " --dry-run",
        stable=stable,
    )
    dry_json = ["attach", *base, "--record", "attach-record.json", "--json", "--dry-run"]
    record = json.loads(CliRunner().invoke(cli, [*dry_json, *endpoint]).stdout)
    assert record["dryRun"] is True
    args = ["attach", *base, "--record", "attach-record.json", *endpoint]
    result = CliRunner().invoke(cli, args, terminal_width=WIDTH, env={"COLUMNS": str(WIDTH)})
    assert result.exit_code == 0, result.stderr
    written = json.loads(Path("attach-record.json").read_text())
    stable.add(written["deploymentId"])
    attach = stable(f"$ {shown.format('attach')} --record attach-record.json\n{result.stdout}")
    status = _run(
        ["status", "--stack", "QueryService-prod", *front],
        shown="query-migrate status --stack QueryService-prod",
        stable=stable,
    )
    detach_result = CliRunner().invoke(
        cli,
        ["detach", "attach-record.json", *endpoint],
        terminal_width=WIDTH,
        env={"COLUMNS": str(WIDTH)},
    )
    assert detach_result.exit_code == 0, detach_result.stderr
    stable.add(json.loads(Path("attach-record.json").read_text())["detachDeploymentId"])
    detach = stable(f"$ query-migrate detach attach-record.json\n{detach_result.stdout}")
    assert "endpoint logs" in preflight
    assert "✗" in preflight
    examples = {
        "preflight": preflight,
        "attach-dry-run": dry,
        "attach": attach,
        "status": status,
        "detach": detach,
    }
    for name, text in examples.items():
        check_snippet(f"examples/{name}.txt", text, exact=False)


SERVE_PORTS = {
    "external": "http://127.0.0.1:8080",
    "service": "http://127.0.0.1:8000",
    "internal": "http://127.0.0.1:8001/prod",
    "legacy_service": "http://127.0.0.1:8002",
    "invoke": "http://127.0.0.1:8003",
}


def _as_served(chain, text: str) -> str:
    for part, url in SERVE_PORTS.items():
        text = text.replace(getattr(chain, part), url)
    return text


@pytest.mark.usefixtures("fake_aws_credentials")
def test_local_chain_examples(chain, tmp_path, monkeypatch, seeding_proxy) -> None:
    """smoke and shadow as local-development.md runs them against ./nox -s serve."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    logs = tmp_path / ".serve-logs"
    logs.symlink_to(chain.log_dir)
    smoke_args = [
        "smoke",
        *chain.hops(),
        "--log-dir",
        ".serve-logs",
        "--user",
        "u-1001",
    ]
    stable = Stable()
    smoke = _run(
        smoke_args, shown=_as_served(chain, "query-migrate " + " ".join(smoke_args)), stable=stable
    )
    Path("users.txt").write_text("u-1001\nu-1002\nu-1003\nu-1004\nu-9999\n")
    shadow_args = [
        "shadow",
        "--old",
        chain.legacy_service,
        "--new",
        chain.service,
        "--users",
        "users.txt",
        "--follow-pages",
        "--max-pages",
        "3",
        "--rate",
        "0",
        "--report",
        "shadow-report.md",
    ]
    shadow = _run(shadow_args, shown=_as_served(chain, "query-migrate " + " ".join(shadow_args)))
    assert "no mismatch" in shadow
    check_snippet("examples/smoke.txt", _as_served(chain, smoke), exact=False)
    check_snippet("examples/shadow.txt", _as_served(chain, shadow), exact=False)
    # A mismatch report: the new path behind a proxy that upper-cases u-1003's statuses.
    Path("one.txt").write_text("u-1003\n")
    with seeding_proxy(chain.service) as proxy:
        args = [
            "shadow",
            "--old",
            chain.legacy_service,
            "--new",
            proxy.url,
            "--users",
            "one.txt",
            "--limit",
            "2",
            "--run-id",
            "shadow-docs",
            "--report",
            "report.md",
        ]
        _run(args, shown="", code=1)
        report = Path("report.md").read_text().replace(proxy.url, "http://127.0.0.1:8090")
    assert re.search(r'^\+ +"status": "[A-Z]+",$', report, re.MULTILINE), report
    check_snippet("examples/shadow-report.md", _as_served(chain, report), exact=False)
