"""shadow against the local chain: the legacy service (RESULT_SOURCE=lambda) is the old path,
the service with RESULT_SOURCE=internal_api the new one; a real proxy seeds differences."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from query_devstack import free_port
from query_migrate.cli import cli
from query_migrate.shadow import Answer, compare, percentile

USERS = ("u-1001", "u-1002", "u-1003", "u-1004", "u-9999")  # u-9999 has no results
AP_IDS = (None, "ap-billing", "ap-search", "ap-reports")
LIMITS = (1, 7, 20, 100)
#: Bodies each answered 400 or 422 by both paths.
INVALID = (
    '{"user_id": "u-1001", "unknown": 1}',
    '{"user_id": "bad user!"}',
    '{"user_id": "u-1001", "limit": 0}',
    '{"user_id": "u-1001", "limit": 101}',
    '{"user_id": "u-1001", "next_token": "forged"}',
    "{}",
    "[]",
)


def request_bodies(*, invalid: bool = True) -> list[str]:
    bodies = [
        json.dumps({"user_id": user, "limit": limit, **({"ap_id": ap} if ap else {})})
        for user in USERS
        for ap in AP_IDS
        for limit in LIMITS
    ]
    return bodies + ([*INVALID, "not json"] if invalid else [])


def shadow(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["shadow", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_a_clean_run_over_more_than_500_requests_has_no_mismatch(chain, tmp_path) -> None:
    bodies = tmp_path / "bodies.jsonl"
    bodies.write_text("\n".join(request_bodies()) + "\n")
    report = tmp_path / "report.md"
    code, out, err = shadow(
        "--old",
        chain.legacy_service,
        "--new",
        chain.service,
        "--bodies",
        str(bodies),
        "--follow-pages",
        "--max-pages",
        "3",
        "--repeat",
        "4",
        "--concurrency",
        "8",
        "--rate",
        "0",
        "--report",
        str(report),
        "--json",
    )
    summary = json.loads(out)
    assert code == 0, out + err
    assert summary["ok"] is True
    assert summary["requests"] >= 500
    assert summary["mismatches"] == {"total": 0, "by_kind": {}}
    assert summary["errors"] == 0
    assert summary["matches"] == summary["requests"]
    for side in ("old", "new"):
        assert 0 < summary["latency_ms"][side]["p50"] <= summary["latency_ms"][side]["p99"]
    assert "verdict: **no mismatch**" in report.read_text()
    print(f"\nshadow clean run: {json.dumps(summary)}")  # the figures for the closing note


def test_seeded_differences_are_reported_by_kind_with_a_readable_diff(
    chain, tmp_path, seeding_proxy
) -> None:
    bodies = tmp_path / "bodies.jsonl"
    bodies.write_text("\n".join(request_bodies(invalid=False)) + "\n")
    users = tmp_path / "users.txt"
    users.write_text("u-1001\nu-1003\n")
    markdown, page = tmp_path / "report.md", tmp_path / "report.html"
    with seeding_proxy(chain.service) as proxy:
        code, out, _ = shadow(
            "--old",
            chain.legacy_service,
            "--new",
            proxy.url,
            "--bodies",
            str(bodies),
            "--rate",
            "0",
            "--report",
            str(markdown),
            "--report",
            str(page),
            "--json",
        )
        assert code == 1
        summary = json.loads(out)
        code, table, _ = shadow(
            "--old",
            chain.legacy_service,
            "--new",
            proxy.url,
            "--users",
            str(users),
            "--ap-id",
            "ap-billing",
            "--limit",
            "3",
        )
        assert code == 1
    assert summary["ok"] is False
    assert summary["requests"] == 80
    # u-1003: 16 bodies (each with items); u-1004 limit 7: 4; u-1002 ap-reports: 4.
    assert summary["mismatches"]["by_kind"] == {
        "body": 16 + 4,
        "status": 4,
        "header retry-after": 4,
        "x-request-id": 4,
    }
    assert summary["mismatches"]["total"] == 16 + 4 + 4
    assert summary["errors"] == 0
    assert summary["matches"] == 80 - 24
    text = markdown.read_text()
    assert "## Request" in text
    assert '-      "status": "done",' in text
    assert '+      "status": "DONE",' in text
    assert "- **status**: 200 vs 503" in text
    assert "not echoed by new" in text
    assert "mismatches or errors" in table
    assert "│   body " in table
    html_text = page.read_text()
    assert html_text.startswith("<!doctype html>")
    assert "&quot;DONE&quot;" in html_text or "DONE" in html_text
    assert 'class="diff"' in html_text


@pytest.mark.usefixtures("fake_aws_credentials")  # what the local Lambda Invoke API accepts
def test_the_direct_invocation_is_an_old_path_too(chain, tmp_path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("\n".join(USERS) + "\n")
    code, out, err = shadow(
        "--old",
        "lambda:query_result_lambda",
        "--endpoint-url",
        chain.invoke,
        "--region",
        "us-east-1",
        "--new",
        chain.service,
        "--users",
        str(users),
        "--limit",
        "5",
        "--follow-pages",
        "--max-pages",
        "2",
        "--json",
    )
    assert code == 0, out + err
    summary = json.loads(out)
    assert summary["old"] == "lambda:query_result_lambda"
    assert summary["requests"] == 4 * 2 + 1
    assert summary["mismatches"]["total"] == 0


def test_an_unreachable_side_is_an_error_not_a_match(chain, tmp_path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("u-1001\nu-1002\n")
    report = tmp_path / "r.md"
    code, out, _ = shadow(
        "--old",
        chain.legacy_service,
        "--new",
        f"http://127.0.0.1:{free_port()}",
        "--users",
        str(users),
        "--json",
        "--report",
        str(report),
    )
    assert code == 1
    summary = json.loads(out)
    assert summary["errors"] == 2
    assert summary["matches"] == 0
    assert summary["latency_ms"]["new"] == {"p50": None, "p99": None}
    assert "Error: new: ConnectError" in report.read_text()


def test_input_mistakes_are_usage_errors(tmp_path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert shadow("--old", "http://a", "--new", "http://b")[0] == 2
    code, _, err = shadow("--old", "http://a", "--new", "http://b", "--bodies", str(empty))
    assert code == 2
    assert "the input is empty" in err
    code, _, err = shadow("--old", "ftp://a", "--new", "http://b", "--bodies", str(empty))
    assert code == 2
    users = tmp_path / "users.txt"
    users.write_text("u-1001\n")
    code, _, err = shadow("--new", "http://b", "--users", str(users))
    assert code == 2
    assert "--old is needed" in err


def _answer(status: int = 200, body: object = None, **headers: str) -> Answer:
    data = json.dumps(body if body is not None else {"items": [], "next_token": None}).encode()
    return Answer(status, {"content-type": "application/json", **headers}, data, 1.0)


def test_compare_classifies_what_a_client_would_see() -> None:
    same = compare(
        _answer(**{"x-request-id": "a", "date": "x"}),
        _answer(**{"x-request-id": "b", "date": "y", "x-amzn-requestid": "z"}),
        old_id="a",
        new_id="b",
    )
    assert same == []
    tokens = compare(
        _answer(body={"items": [1], "next_token": "t1"}, **{"x-request-id": "a"}),
        _answer(body={"items": [1], "next_token": "t2"}, **{"x-request-id": "b"}),
        old_id="a",
        new_id="b",
    )
    assert [d.kind for d in tokens] == ["next_token"]
    header = compare(
        _answer(**{"x-request-id": "a"}),
        _answer(**{"x-request-id": "b", "content-type": "text/plain", "x-extra": "1"}),
        old_id="a",
        new_id="b",
        compared_headers=["X-Extra"],
    )
    assert [d.kind for d in header] == ["header content-type", "header x-extra"]


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([], 50, None),
        ([5.0], 99, 5.0),
        ([float(n) for n in range(1, 101)], 99, 99.0),
        ([float(n) for n in range(1, 101)], 50, 50.0),
        ([3.0, 1.0, 2.0], 50, 2.0),
    ],
)
def test_percentile_is_nearest_rank(values, p, expected) -> None:
    assert percentile(values, p) == expected


def test_sigv4_without_credentials_is_one_clear_line(tmp_path, monkeypatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    users = tmp_path / "users.txt"
    users.write_text("u-1001\n")
    code, _, err = shadow(
        "--old",
        "http://127.0.0.1:1",
        "--new",
        "http://127.0.0.1:2",
        "--new-sigv4",
        "--region",
        "us-east-1",
        "--users",
        str(users),
    )
    assert code == 2
    assert err.startswith("query-migrate: no AWS credentials found for SigV4")


def test_concurrency_and_rate_bound_what_each_side_sees(tmp_path) -> None:
    """--concurrency caps each side's connections; --rate spaces the starts."""
    from query_devstack import MisbehavingServer, Reply

    page = b'{"user_id": "u", "items": [], "count": 0, "next_token": null}'

    def echo(request):
        return Reply(
            body=page,
            delay=0.05,
            headers={
                "content-type": "application/json",
                "x-request-id": request.headers["x-request-id"],
            },
        )

    users = tmp_path / "users.txt"
    users.write_text("\n".join(f"u-{n}" for n in range(12)) + "\n")

    def both(old, new, *, concurrency: int, rate: int) -> tuple[int, str]:
        code, out, _ = shadow(
            *("--old", old.url, "--new", new.url, "--users", str(users), "--json"),
            *("--concurrency", str(concurrency), "--rate", str(rate)),
        )
        return code, out

    with MisbehavingServer(echo) as old, MisbehavingServer(echo) as new:
        code, out = both(old, new, concurrency=2, rate=0)
        assert code == 0, out
        assert len(old.requests) == len(new.requests) == 12
        assert old.connections <= 2  # without the cap: up to 12 at once
        assert new.connections <= 2
    with MisbehavingServer(echo) as old, MisbehavingServer(echo) as new:
        code, out = both(old, new, concurrency=12, rate=40)
    summary = json.loads(out)
    assert summary["matches"] == 12
    assert summary["seconds"] >= 11 / 40  # 12 starts, 1/40 s apart at least


def test_the_sides_default_to_the_context_and_the_stack(chain, run, stack, tmp_path) -> None:
    """--old from the context's oldEksHandlerUrl, --new from the stack's ServiceUrl."""
    stack("QueryService-test", {"ServiceUrl": chain.service})
    users = tmp_path / "users.txt"
    users.write_text("u-1001\n")
    summary = run.json(
        "shadow",
        "--stack",
        "QueryService-test",
        "-c",
        f"oldEksHandlerUrl={chain.legacy_service}",
        "--users",
        str(users),
    )
    assert summary["old"] == chain.legacy_service
    assert summary["new"] == chain.service
    assert summary["matches"] == 1
