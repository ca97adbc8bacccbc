"""A broken runbook fails the rehearsal with its step named: the real ``query-rehearsal`` run as
``nox -s rehearse`` runs it (moto's server, the locked CDK CLI on PATH), on a copy of
``docs/runbook.md`` with one mistake in it."""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).parents[3]
RUNBOOK = REPO / "docs" / "runbook.md"
STEP = "Deploy 0: Write the context from the running account"


def _rehearse(tmp_path: Path, old: str, new: str) -> subprocess.CompletedProcess[str]:
    text = RUNBOOK.read_text()
    assert text.count(old) == 1, old
    runbook = tmp_path / "runbook.md"
    runbook.write_text(text.replace(old, new))
    return subprocess.run(
        ["query-rehearsal", "--repo", str(REPO), "--runbook", str(runbook), "--no-page"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_a_mistyped_command_fails_with_its_step_and_exit_127(tmp_path) -> None:
    result = _rehearse(tmp_path, "query-migrate discover", "query-migrat discover")
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        f"FAILED: step '{STEP}' failed: `query-migrat discover --api-id a1b2c3d4e5" in result.stdout
    )
    assert "exited 127" in result.stdout
    assert "query-migrat: command not found" in result.stdout
    # Nothing after the failure ran, and moto's server is gone with the rehearsal.
    assert "query-migrate preflight" not in result.stdout.split("FAILED")[0]
    url = re.search(r"moto's server on http://127\.0\.0\.1:(\d+)", result.stdout)
    assert url, result.stdout
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", int(url[1]))) != 0


def test_a_wrong_context_key_fails_at_synth_with_its_step(tmp_path) -> None:
    result = _rehearse(tmp_path, '{"environment": "prod"', '{"enviroment": "prod"')
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        f"FAILED: step '{STEP}' failed: `cd infra && npx aws-cdk@2 synth --quiet` exited 1"
        in result.stdout
    )
    assert "enviroment" in result.stdout.split("FAILED")[0]  # the CDK app's line names the key


def test_an_unfilled_placeholder_fails_before_running(tmp_path) -> None:
    result = _rehearse(
        tmp_path,
        "<!-- rehearse fill: <its region> = us-east-1 -->\n",
        "",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FAILED: step '{STEP}' failed" in result.stdout
    assert "left <its region> unfilled: add <!-- rehearse fill: <its region> = <value> -->" in (
        result.stdout
    )


def test_a_marker_that_names_no_block_stops_the_rehearsal_before_it_starts(tmp_path) -> None:
    """Exit 2 and one line: the page is wrong, nothing ran (no moto, no block)."""
    result = _rehearse(tmp_path, "## Deploy\n", "## Deploy\n\n<!-- rehearse skip: why -->\ntext\n")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert "a rehearse skip marker must be the line before a ```bash block" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], str]:
    """One rehearsal of the whole runbook (about a minute), shared: one block added after the
    deploy prints the synthesized template's logical ids, and the attach record is made wrong
    before Rollback's detach (its alias edited: the record of another attach). Returns the run
    and the transcript it wrote."""
    tmp = tmp_path_factory.mktemp("whole")
    show = (
        "    ```bash\n    python3 -c \"import json; print('IDS', *json.load(open("
        "'infra/cdk.out/QueryService-prod.template.json'))['Resources'])\"\n    ```\n\n"
    )
    wrong = (
        '    ```bash\n    python3 -c "import json, pathlib; p = pathlib.Path('
        "'attach-record.json'); r = json.loads(p.read_text()); r['aliasArn'] = "
        "r['aliasArn'].replace(':live', ':other'); p.write_text(json.dumps(r))\"\n    ```\n\n"
    )
    check_again = "3. **Check again, now with the stack.**"
    detach = "    ```bash\n    query-migrate detach attach-record.json --dry-run"
    text = RUNBOOK.read_text()
    assert text.count(check_again) == 1
    assert text.count(detach) == 1
    runbook = tmp / "runbook.md"
    runbook.write_text(
        text.replace(check_again, show + check_again).replace(detach, wrong + detach)
    )
    page = tmp / "rehearsal.md"
    result = subprocess.run(
        ["query-rehearsal", "--repo", str(REPO), "--runbook", str(runbook), "--page", str(page)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return result, page.read_text()


def test_the_deploy_places_every_resource_of_the_real_template_once(whole_run) -> None:
    """The transcript's deploy table lists each logical id of the synthesized template in
    exactly one part."""
    result, page = whole_run
    ids = re.search(r"^IDS (.+)$", result.stdout, re.MULTILINE)
    assert ids, result.stdout + result.stderr
    table = page.split("## The deploy")[1].split("\n## ")[0]
    rows = re.findall(r"^\| `([^`]+)` \| `[^`]+` \| ([^|]+) \|", table, re.MULTILINE)
    assert sorted(lid for lid, _ in rows) == sorted(ids[1].split())
    assert {part.strip() for _, part in rows} == {"CloudFormation", "its API", "not created"}


def test_a_detach_that_does_not_restore_fails_with_its_step(whole_run) -> None:
    """Everything before Rollback passes (the traffic moved to ECS by the rehearsal's update);
    detach given a wrong record restores nothing, and the rehearsal fails naming its step;
    the re-attach after it never runs."""
    result, _ = whole_run
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "FAILED: step 'Rollback: The public API itself' failed: "
        "`query-migrate detach attach-record.json --dry-run` exited 1"
    ) in result.stdout
    assert "the integration changed since attach" in result.stdout
    assert "phase ecs: alias live leads to the ALB at 100 %" in result.stdout
    assert "reattach-record.json:" not in result.stdout


def test_the_canary_evaluates_its_four_alarms_over_the_traffic_it_saw(whole_run) -> None:
    """Each alarm of the deployment group is computed from what the data plane counted: the
    Query Lambda's log lines and invocations, the ALB's requests (its front's), the public
    API's (the public front's). Fails when an alarm is "not evaluated", or its request count
    is 0 (its metrics' dimensions match nothing: the deploy once put the ALB's alarm with
    moto's unresolved "{'Fn::GetAtt': ...}" as its LoadBalancer); in the failed canary the
    public API's 5XX are the broken version's."""
    result, _ = whole_run
    out = result.stdout
    switch = out[out.index("── Switch 2: Move the traffic") : out.index("── Watch")]
    assert "not evaluated" not in switch
    for alarm in ("NewVersionErrorRate", "NewVersionExtra4xx", "AlbErrorRate", "PublicApi5xxRate"):
        found = re.search(rf"{alarm}\w*: [\d.]+ \[requests (\d+)[^]]*\] \(threshold 5\) -> OK",
                          switch)  # fmt: skip
        assert found, (alarm, switch[-3000:])
        assert int(found[1]) > 0, alarm
    during = out[out.index("── Rollback: During the canary") : out.index("── Rollback: After it")]
    assert re.search(r"PublicApi5xxRate\w*: [\d.]+ \[requests \d+, server5xx [1-9]", during)


def test_verify_runs_smoke_and_shadow_through_the_real_handlers(whole_run) -> None:
    """Verify's blocks run (not skipped): smoke's public URL is reached as clients reach it
    (every public check run, none "not reachable"); its hop through alias live is the real
    Query Lambda's answer (two pages as the test identity, the marketing path still the EKS
    handler's) and the real Query Result Lambda refuses a direct event; shadow reads the
    user_ids the table holds and compares the EKS handler's URL from the context (through the
    blocks' proxy) with alias live, page by page, without a mismatch. Fails with either block
    skipped, without the data plane answering the alias's Invoke, without the proxy (shadow's old
    side is a name that resolves nowhere: every request an error, exit 1), without its HTTPS
    tunnel or the token in the block (the public checks skipped, or 401), or with this
    repository's Query Lambda as the old one (marketing 410 before the switch)."""
    result, page = whole_run
    out = result.stdout
    verify = out.split("── Verify 1: Every hop")[1].split("── Switch 1")[0]
    assert re.search(r"✓ │ live as u-1001: a page +│ +\d+ │ 200, 2 item\(s\)", verify), verify
    assert re.search(r"✓ │ live as u-1001: the next page +│ +\d+ │ 200, 2 item\(s\)", verify)
    # alias live leads to EKS before the switch: the marketing path is the EKS handler's.
    assert re.search(r"✓ │ live as u-1001: /query/marketing +│ +\d+ │ 422: still served by EKS",
                     verify)  # fmt: skip
    assert "refused: 400 'unsupported event'" in verify
    # The public URL as clients call it (HTTPS, through the blocks' proxy, with the test
    # identity's token), reaching the old Query Lambda before the switch: the old code serves
    # the marketing path (its EKS handler's query), and the gateway's own 403 on /health.
    assert re.search(r"✓ │ public: a page +│ +\d+ │ 200, 2 item\(s\), X-Request-Id", verify)
    assert re.search(r"✓ │ public: /query/marketing still served +│ +\d+ │ 422", verify)
    assert re.search(r"✓ │ public: /health is not public +│ +\d+ │ 403", verify)
    assert re.search(r"– │ private API: a page +│ +│ not reachable from here \(ProxyError\)",
                     verify)  # fmt: skip
    assert "old: http://query-handler.eks.internal:8080" in verify
    assert "new: query-lambda:QueryService-prod-" in verify
    shadowed = re.search(r"no mismatch; (\d+) requests in", verify)
    assert shadowed, verify
    assert int(shadowed[1]) > 4  # the fixture's 4 users, more than one page each followed
    assert verify.count("-> exit 0,") == 3
    skipped = page.split("## Skipped")[1].split("\n## ")[0]
    assert "Verify" not in skipped
    timeline = page.split("## Timeline")[1].split("\n## ")[0]
    assert "| Verify 1: Every hop | `query-migrate smoke " in timeline


_BREAK_THE_INTEGRATION = """# A runbook with one wrong step

## Attach

1. **Point the public API at a function that does not exist.**

    ```bash
    python3 - <<'EOF'
    import time
    import boto3
    api = boto3.client("apigateway")
    resource = next(r for r in api.get_resources(restApiId="a1b2c3d4e5")["items"]
                    if r["path"] == "/query/result")
    arn = "arn:aws:lambda:us-east-1:123456789012:function:no-such-function"
    api.put_integration(restApiId="a1b2c3d4e5", resourceId=resource["id"], httpMethod="POST",
                        type="AWS_PROXY", integrationHttpMethod="POST",
                        uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations")
    time.sleep(3)  # the watching client pages on meanwhile
    EOF
    ```
"""


def test_a_client_seeing_errors_fails_the_rehearsal_naming_the_step(tmp_path) -> None:
    """Every block exits 0, but the watching client got 502s after the wrong integration: the
    rehearsal fails naming that step. Fails without the watcher in the rehearsal, or without
    its problems deciding the exit code."""
    runbook = tmp_path / "runbook.md"
    runbook.write_text(_BREAK_THE_INTEGRATION)
    result = subprocess.run(
        ["query-rehearsal", "--repo", str(REPO), "--runbook", str(runbook), "--no-page"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "passed: 1 blocks" in result.stdout
    step = "Attach 1: Point the public API at a function that does not exist"
    assert f"FAILED: the watching client: step '{step}': u-" in result.stderr
    assert "HTTP 502" in result.stderr


_PATTERN_THAT_MATCHES_NOTHING = """    ```bash
    python3 - <<'EOF'
    import boto3
    logs = boto3.client("logs")
    for found in logs.describe_metric_filters()["metricFilters"]:
        if found["metricTransformations"][0]["metricName"] == "QueryLambda5xx":
            logs.put_metric_filter(logGroupName=found["logGroupName"],
                                   filterName=found["filterName"],
                                   filterPattern='{ $.message = "request forwarded" }',
                                   metricTransformations=found["metricTransformations"])
            print("QueryLambda5xx now counts", found["filterName"])
    EOF
    ```

"""


def test_an_alarm_pattern_that_matches_nothing_fails_the_failed_canary(tmp_path) -> None:
    """The 5xx metric filter put back with the line nothing logs any more ("request
    forwarded", the previous round's bug): the failed canary's alarm sees no 5xx, the canary
    completes onto the broken version, and the rehearsal fails naming that step. Fails when
    the canary's alarms are not evaluated from the handlers' real log lines through the
    account's patterns (an alarm always firing, or judged otherwise)."""
    during = "    <!-- rehearse instead: failed-canary:"
    result = _rehearse(tmp_path, during, _PATTERN_THAT_MATCHES_NOTHING + during)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "QueryLambda5xx now counts" in result.stdout
    assert "FAILED: step 'Rollback: During the canary' failed" in result.stdout
    assert re.search(r"NewVersionErrorRate\w*: 0\.0 \[[^]]*\] \(threshold 5\) -> OK", result.stdout)
    assert "the canary was not stopped: live now serves version" in result.stdout


_DETACH = "    ```bash\n    query-migrate detach attach-record.json --dry-run"
#: The attach record says the wrong thing: the integration it will put back gets a timeout the
#: account's never had (as a record edited by hand, or written wrong by attach, would).
_RECORD_SAYS_ANOTHER_TIMEOUT = """    ```bash
    python3 - <<'EOF'
    import json, pathlib
    path = pathlib.Path("attach-record.json")
    record = json.loads(path.read_text())
    record["methods"][0]["integration"]["timeoutInMillis"] = 12000
    path.write_text(json.dumps(record))
    EOF
    ```

"""


def test_a_detach_that_exits_0_but_restores_the_wrong_thing_fails_with_its_step(
    tmp_path,
) -> None:
    """detach follows its record and reads back what the record says, so it exits 0; the
    rehearsal's own check after it (rehearsal.restored) compares with the account as it was
    before the first block and fails the step, naming the method and the field. Fails
    without that check (the run passes), or if it trusted detach's own comparison."""
    result = _rehearse(tmp_path, _DETACH, _RECORD_SAYS_ANOTHER_TIMEOUT + _DETACH)
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "FAILED: step 'Rollback: The public API itself' failed: "
        "`query-migrate detach attach-record.json --dry-run` exited 0, but did not restore the "
        "account's integrations: POST /query/result: timeoutInMillis 12000, the account had None"
    ) in result.stdout
    assert "reattach-record.json:" not in result.stdout  # nothing after it ran


#: Switch 2 done with the clean-up's context already: the EKS keys removed with the switch
#: (the runbook says to keep them while the canary runs). The new version then sends every
#: page to the service, including those whose next_token the EKS handler issued, and the old
#: one sends the service's tokens to EKS: each side refuses the other's (decision 11).
_EKS_KEYS_GONE_AT_THE_SWITCH = """    ```bash
    python3 - <<'EOF'
    import json, pathlib
    path = pathlib.Path("infra/cdk.context.json")
    context = json.loads(path.read_text())
    for key in ("oldEksHandlerUrl", "oldEksHandlerPeer", "oldEksHandlerPort"):
        del context[key]
    path.write_text(json.dumps(context, indent=2) + "\\n")
    EOF
    ```

"""


def test_a_token_refused_across_paths_fails_the_switch_naming_its_step(tmp_path) -> None:
    """The break of issue 19 in a whole run: the canary's versions without the token split.
    The watching client's pages cross paths and get 400 next_token is malformed, and the
    rehearsal fails naming Switch 2. Fails if the stand-ins accepted each other's tokens, if
    the new version kept the way to EKS, or if the watcher missed the 400s."""
    check_then_deploy = (
        "    Then check, and deploy:\n\n    ```bash\n    query-migrate preflight --stack "
        "QueryService-prod --context-file infra/cdk.context.json\n    ```\n\n"
    )
    result = _rehearse(tmp_path, check_then_deploy,
                       check_then_deploy + _EKS_KEYS_GONE_AT_THE_SWITCH)  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    step = "Switch 2: Move the traffic"
    refused = re.search(rf"step '{step}': u-\d+: HTTP 400 .*next_token is malformed",
                        result.stdout + result.stderr)  # fmt: skip
    assert refused, result.stdout[-3000:] + result.stderr
