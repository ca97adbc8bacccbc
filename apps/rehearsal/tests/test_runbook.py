"""The runbook's blocks as the rehearsal reads them: markers, steps, fills, and the list of
rehearsed commands, pinned so that a new block in the rehearsed part is a deliberate change."""

from __future__ import annotations

from pathlib import Path

import pytest
from rehearsal.run import run_blocks
from rehearsal.runbook import Kind, parse, unfilled

RUNBOOK = Path(__file__).parents[3] / "docs" / "runbook.md"

#: Every command the rehearsal runs, in order (each block's first line, placeholders filled).
#: A new ```bash block before the stop marker lands here: add it, or mark it
#: `<!-- rehearse skip: <reason> -->` in the page.
REHEARSED = [
    (
        "Deploy 0: Write the context from the running account",
        "query-migrate discover --api-id a1b2c3d4e5 --api-stage prod "
        "--output infra/cdk.context.json --region us-east-1",
    ),
    ("Deploy 0: Write the context from the running account", "python3 - <<'EOF' … EOF (5 lines)"),
    (
        "Deploy 0: Write the context from the running account",
        "cd infra && npx aws-cdk@2 synth --quiet",
    ),
    (
        "Deploy 1: Check the account before the first deploy",
        "query-migrate preflight --stack QueryService-prod --context-file infra/cdk.context.json",
    ),
    # `rehearse instead: deploy`: rehearsal.deploy runs in the place of this block.
    ("Deploy 2: Deploy with `trafficTarget=eks`", "./nox -s build"),
    (
        "Deploy 2: Deploy with `trafficTarget=eks`",
        "group=$(aws cloudformation describe-stacks --stack-name QueryService-prod --output text "
        "--query \"Stacks[0].Outputs[?OutputKey=='QueryLambdaSecurityGroupId'].OutputValue\")",
    ),
    (
        "Deploy 3: Check again, now with the stack",
        "query-migrate preflight --stack QueryService-prod --context-file infra/cdk.context.json",
    ),
    (
        "Verify 1: Every hop",
        "query-migrate smoke --stack QueryService-prod --context-file infra/cdk.context.json "
        "--user u-1001 -H 'Authorization: u-1001'",
    ),
    (
        "Verify 2: The new path against the old one",
        'table=$(python3 -c \'import json; print(json.load(open("infra/cdk.context.json"))'
        '["existingTableName"])\')',
    ),
    (
        "Verify 2: The new path against the old one",
        "query-migrate shadow --stack QueryService-prod --context-file infra/cdk.context.json "
        "--new query-lambda:live --as-owner --users users.txt --follow-pages --rate 20 "
        "--concurrency 8 --report shadow-report.html",
    ),
    (
        "Switch 1: Attach the existing public API to the alias `live`",
        "query-migrate attach --stack QueryService-prod --context-file infra/cdk.context.json "
        "--dry-run",
    ),
    (
        "Switch 1: Attach the existing public API to the alias `live`",
        "query-migrate attach --stack QueryService-prod --context-file infra/cdk.context.json "
        "--record attach-record.json --plan-hash <the hash the dry run printed>",
    ),
    (
        "Switch 1: Attach the existing public API to the alias `live`",
        "query-migrate preflight --stack QueryService-prod --context-file infra/cdk.context.json",
    ),
    ("Switch 2: Move the traffic", "python3 - <<'EOF' … EOF (5 lines)"),
    (
        "Switch 2: Move the traffic",
        "query-migrate preflight --stack QueryService-prod --context-file infra/cdk.context.json",
    ),
    # `rehearse instead: deploy`: the rehearsal's update of the deployed stack.
    ("Switch 2: Move the traffic", "cd infra && npx aws-cdk@2 diff && npx aws-cdk@2 deploy"),
    (
        "Watch",
        "query-migrate status --stack QueryService-prod --context-file infra/cdk.context.json",
    ),
    (
        "Retire /query/marketing",
        "query-migrate retire-marketing --stack QueryService-prod --context-file "
        "infra/cdk.context.json --days 30 --dry-run",
    ),
    (
        "Retire /query/marketing",
        "status=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H \"Authorization: u-1001\" "
        "-H 'Content-Type: application/json' -d '{}' "
        '"https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/query/marketing")',
    ),
    # `rehearse instead: failed-canary`: a canary made to fail, stopped by its alarm.
    (
        "Rollback: During the canary",
        "aws deploy stop-deployment --deployment-id <the id status shows> --auto-rollback-enabled",
    ),
    ("Rollback: After it", "python3 - <<'EOF' … EOF (5 lines)"),
    ("Rollback: After it", "cd infra && npx aws-cdk@2 diff && npx aws-cdk@2 deploy"),
    (
        "Rollback: After it",
        "query-migrate status --stack QueryService-prod --context-file infra/cdk.context.json",
    ),
    ("Rollback: The public API itself", "query-migrate detach retire-record.json --dry-run"),
    ("Rollback: The public API itself", "query-migrate detach attach-record.json --dry-run"),
    (
        "Rollback: The public API itself",
        "query-migrate attach --stack QueryService-prod --context-file infra/cdk.context.json "
        "--dry-run",
    ),
    (
        "Rollback: The public API itself",
        "query-migrate attach --stack QueryService-prod --context-file infra/cdk.context.json "
        "--record reattach-record.json --plan-hash <the hash the dry run printed>",
    ),
    # Forward again after the rollback: Switch 2's edit, and the canary again.
    ("Rollback: The public API itself", "python3 - <<'EOF' … EOF (5 lines)"),
    ("Rollback: The public API itself", "cd infra && npx aws-cdk@2 diff && npx aws-cdk@2 deploy"),
    # The internal hop back on the direct invocation, compared, and forward again.
    ("Rollback: Only the internal hop", "python3 - <<'EOF' … EOF (6 lines)"),
    ("Rollback: Only the internal hop", "cd infra && npx aws-cdk@2 diff && npx aws-cdk@2 deploy"),
    (
        "Rollback: Only the internal hop",
        "function=$(aws cloudformation describe-stacks --stack-name QueryService-prod --output "
        "text --query \"Stacks[0].Outputs[?OutputKey=='QueryResultFunctionName'].OutputValue\")",
    ),
    ("Rollback: Only the internal hop", "python3 - <<'EOF' … EOF (5 lines)"),
    ("Rollback: Only the internal hop", "cd infra && npx aws-cdk@2 diff && npx aws-cdk@2 deploy"),
    ("Rollback: Only the internal hop", "python3 - <<'EOF' … EOF (5 lines)"),
    ("Rollback: Only the internal hop", "cd infra && npx aws-cdk@2 diff && npx aws-cdk@2 deploy"),
    # The clean-up's context: the EKS keys removed, deployed, and the phase `eks gone`.
    (
        "Clean-up: Remove the EKS egress by context, not by hand",
        "python3 - <<'EOF' … EOF (5 lines)",
    ),
    (
        "Clean-up: Remove the EKS egress by context, not by hand",
        "cd infra && npx aws-cdk@2 diff && npx aws-cdk@2 deploy",
    ),
    (
        "Clean-up: Remove the EKS egress by context, not by hand",
        "query-migrate preflight --stack QueryService-prod --context-file infra/cdk.context.json",
    ),
]


def test_the_rehearsed_commands_are_pinned() -> None:
    runbook = parse(RUNBOOK.read_text())
    assert [(b.step, b.first_line) for b in runbook.rehearsed()] == REHEARSED
    assert '"canaryTestUserId": "u-1001"' in runbook.rehearsed()[1].command
    assert runbook.stop() is None  # the whole page runs
    assert [(b.step, b.instead) for b in runbook.rehearsed() if b.kind is Kind.INSTEAD] == [
        ("Deploy 2: Deploy with `trafficTarget=eks`", "deploy"),
        ("Switch 2: Move the traffic", "deploy"),
        ("Rollback: During the canary", "failed-canary"),
        ("Rollback: After it", "deploy"),
        ("Rollback: The public API itself", "deploy"),
        ("Rollback: Only the internal hop", "deploy"),
        ("Rollback: Only the internal hop", "deploy"),
        ("Rollback: Only the internal hop", "deploy"),
        ("Clean-up: Remove the EKS egress by context, not by hand", "deploy"),
    ]
    # The plan hash is read from the dry run's output when the block runs.
    assert list(runbook.output_fills) == ["<the hash the dry run printed>"]
    assert all(not unfilled(block) for block in runbook.rehearsed() if "--plan-hash" not in
               block.command and block.kind is not Kind.INSTEAD)  # fmt: skip


def test_an_output_fill_reads_the_block_before(tmp_path) -> None:
    """``output: <regex>``: the placeholder is filled from the previous block's output when
    the block runs; no match fails the block naming the fill, before bash runs it."""
    page = (
        "<!-- rehearse fill: <the hash> = output: --plan-hash (\\w+) -->\n"
        "```bash\necho 'apply with --plan-hash ab12'\n```\n"
        "```bash\necho <the hash> > got\n```\n"
        "```bash\necho <the hash> > again\n```\n"
    )
    done = run_blocks(parse(page), cwd=tmp_path, env={"PATH": "/usr/bin:/bin"},
                      echo=lambda _: None)  # fmt: skip
    assert (tmp_path / "got").read_text() == "ab12\n"
    assert done.failed is not None  # the second block printed no hash
    assert "could not fill <the hash>: the output of the block before has no match" in (
        done.failed.verdict()
    )
    assert not (tmp_path / "again").exists()
    with pytest.raises(ValueError, match="needs a group"):
        parse("<!-- rehearse fill: <x y> = output: nogroup -->\n")


def test_every_skip_names_its_reason() -> None:
    runbook = parse(RUNBOOK.read_text())
    assert runbook.skipped(), "the prerequisites cannot run here"
    assert all(block.reason for block in runbook.skipped())


PAGE = """\
# Page

<!-- rehearse fill: <the id> = abc -->

## Deploy

0. **First.** Text.

    ```bash
    echo <the id> \\
        --more
    ```

1. **Second.**

    <!-- rehearse skip: not here -->
    ```bash
    aws something
    ```

    <!-- rehearse instead: deploy: the rehearsal's own -->
    ```bash
    cdk deploy
    ```

## Clean-up

- [ ] **Checked item.** text

    <!-- rehearse stop: the end -->
    ```bash
    echo never
    ```

- **After.**

    ```bash
    echo <an unfilled one>
    ```
"""


def test_markers_steps_and_fills() -> None:
    runbook = parse(PAGE)
    kinds = [(b.step, b.kind) for b in runbook.blocks]
    assert kinds == [
        ("Deploy 0: First", Kind.RUN),
        ("Deploy 1: Second", Kind.SKIP),
        ("Deploy 1: Second", Kind.INSTEAD),
        ("Clean-up: Checked item", Kind.STOP),
        ("Clean-up: After", Kind.RUN),
    ]
    first = runbook.blocks[0]
    assert first.command == "echo abc \\\n    --more\n"  # filled, the list's indent removed
    assert first.first_line == "echo abc --more"
    assert [b.step for b in runbook.rehearsed()] == ["Deploy 0: First", "Deploy 1: Second"]
    instead = runbook.rehearsed()[1]
    assert (instead.instead, instead.reason) == ("deploy", "the rehearsal's own")
    assert [b.reason for b in runbook.skipped()] == ["not here"]
    assert [b.step for b in runbook.not_reached()] == ["Clean-up: After"]
    assert unfilled(runbook.blocks[-1]) == ["<an unfilled one>"]


def test_a_marker_must_be_followed_by_a_block() -> None:
    with pytest.raises(ValueError, match="must be the line before a ```bash block"):
        parse("<!-- rehearse skip: why -->\nsome text\n")
    with pytest.raises(ValueError, match="an instead marker is 'instead: <step>: <reason>'"):
        parse("<!-- rehearse instead: no reason -->\n```bash\nx\n```\n")
    with pytest.raises(ValueError, match="a fill marker is"):
        parse("<!-- rehearse fill: no equals sign -->\n")


def test_an_instead_block_runs_the_rehearsal_step_it_names(tmp_path) -> None:
    """The named step runs in the block's place (its exit code is the block's); a name the
    rehearsal does not know fails the block naming it; the block's bash never runs."""
    runbook = parse(
        "<!-- rehearse instead: deploy: ours -->\n```bash\ntouch ran\n```\n"
        "<!-- rehearse instead: other: ours -->\n```bash\ntouch ran\n```\n"
    )
    calls = []

    def deploy() -> tuple[int, str]:
        calls.append("deploy")
        return 0, "deployed"

    done = run_blocks(runbook, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}, echo=lambda _: None,
                      instead={"deploy": deploy})  # fmt: skip
    assert calls == ["deploy"]
    assert [(o.exit_code, o.output) for o in done.outcomes] == [(0, "deployed"), (None, "")]
    assert done.failed is not None
    assert "names no step of the rehearsal: 'other' (known: deploy)" in done.failed.verdict()
    assert not (tmp_path / "ran").exists()
