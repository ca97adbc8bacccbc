"""A function with a wrong setting or an unreadable key does not start: one log line, exit 1."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def start(module: str, **environ: str) -> tuple[int, list[str]]:
    """Import a handler in a fresh interpreter, as Lambda's init does."""
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        env={
            "PATH": "",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            **environ,
        },
        timeout=120,
        check=False,
    )
    return result.returncode, (result.stdout + result.stderr).splitlines()


def one_line(lines: list[str]) -> dict[str, object]:
    """The one line that says why: every line is a JSON log line (no traceback), one is CRITICAL."""
    entries = [json.loads(line) for line in lines]
    (entry,) = [entry for entry in entries if entry["level"] in ("ERROR", "CRITICAL")]
    assert entry["level"] == "CRITICAL"
    return entry


def test_production_without_a_token_secret_does_not_start():
    code, lines = start(
        "lambdas.query_result.handler",
        ENVIRONMENT="production",
        NEXT_TOKEN_SECRET="a-literal-is-not-enough-in-production",
    )
    assert code == 1
    assert one_line(lines)["message"] == (
        "cannot start: NEXT_TOKEN_SECRET_ARN must be set when ENVIRONMENT=production"
    )


def test_query_lambda_in_production_without_the_service_url_does_not_start():
    code, lines = start("lambdas.query.handler", ENVIRONMENT="production")
    assert code == 1
    assert one_line(lines)["message"] == (
        "cannot start: EKS_HANDLER_URL must be set when ENVIRONMENT=production"
    )


def test_a_wrong_value_is_named(monkeypatch):
    code, lines = start("lambdas.query_result.handler", RESULTS_TABLE_NAME="x")
    assert code == 1
    assert one_line(lines)["message"] == (
        "cannot start: RESULTS_TABLE_NAME: String should have at least 3 characters"
    )


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("not json", "NEXT_TOKEN_SECRET_ARN: the next_token secret is not JSON"),
        (
            json.dumps({"current": {"id": "k1", "key": "too-short"}}),
            "NEXT_TOKEN_SECRET_ARN: the next_token secret's "
            '"current.key" must be text of at least 32 characters',
        ),
    ],
)
def test_a_malformed_secret_does_not_start(secrets, moto_endpoint, secret, reason):
    arn = secrets.create_secret(Name=f"bad-{abs(hash(secret))}", SecretString=secret)["ARN"]
    code, lines = start(
        "lambdas.query_result.handler",
        ENVIRONMENT="local",
        AWS_ENDPOINT_URL=moto_endpoint,
        NEXT_TOKEN_SECRET_ARN=arn,
    )
    assert code == 1
    message = str(one_line(lines)["message"])
    assert message == f"cannot start: {reason}"
    assert "too-short" not in message


def test_an_unreadable_secret_does_not_start(moto_endpoint):
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-secret-AbCdEf"
    code, lines = start(
        "lambdas.query_result.handler",
        ENVIRONMENT="local",
        AWS_ENDPOINT_URL=moto_endpoint,
        NEXT_TOKEN_SECRET_ARN=arn,
    )
    assert code == 1
    assert one_line(lines)["message"] == (
        "cannot start: NEXT_TOKEN_SECRET_ARN could not be read: ResourceNotFoundException"
    )


def test_a_good_secret_starts(secrets, moto_endpoint):
    document = {"current": {"id": "k1", "key": "k" * 40}}
    arn = secrets.create_secret(Name="good-start", SecretString=json.dumps(document))["ARN"]
    code, lines = start(
        "lambdas.query_result.handler",
        ENVIRONMENT="local",
        AWS_ENDPOINT_URL=moto_endpoint,
        NEXT_TOKEN_SECRET_ARN=arn,
    )
    assert code == 0
    assert all(json.loads(line)["level"] in ("DEBUG", "INFO") for line in lines)


CALLER_PROOF_SECRET = json.dumps({"keys": ["q" * 40]})


def test_production_without_the_secret_does_not_start():
    code, lines = start(
        "lambdas.query.handler",
        ENVIRONMENT="production",
        EKS_HANDLER_URL="https://internal.example",
        PUBLIC_API_ID="q7r8s9t0u1",
        CALLER_PROOF_KEYS=CALLER_PROOF_SECRET,  # a literal is not enough in production
    )
    assert code == 1
    assert one_line(lines)["message"] == (
        "cannot start: CALLER_PROOF_SECRET_ARN must be set when ENVIRONMENT=production"
    )


def test_an_unreadable_caller_proof_secret_stops_the_query_lambda(moto_endpoint):
    code, lines = start(
        "lambdas.query.handler",
        ENVIRONMENT="local",
        AWS_ENDPOINT_URL=moto_endpoint,
        CALLER_PROOF_SECRET_ARN="arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf",
    )
    assert code == 1
    assert one_line(lines)["message"] == (
        "cannot start: CALLER_PROOF_SECRET_ARN could not be read: ResourceNotFoundException"
    )
