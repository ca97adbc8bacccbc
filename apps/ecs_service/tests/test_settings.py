import subprocess
import sys

import pytest
from ecs_service.settings import ServiceSettings
from pydantic import ValidationError


def test_local_defaults(monkeypatch):
    for name in ("ENVIRONMENT", "INTERNAL_API_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = ServiceSettings()
    assert settings.environment == "local"
    assert settings.upstream_url == "http://127.0.0.1:8001/prod"
    assert settings.upstream_deadline_seconds < 29
    assert settings.upstream_max_attempts == 3


def test_production_needs_an_https_internal_api_url(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.delenv("INTERNAL_API_URL", raising=False)
    with pytest.raises(ValidationError, match="INTERNAL_API_URL must be set"):
        ServiceSettings()
    monkeypatch.setenv("INTERNAL_API_URL", "http://plain.example/prod")
    with pytest.raises(ValidationError, match="https"):
        ServiceSettings()
    monkeypatch.setenv(
        "INTERNAL_API_URL", "https://abc.execute-api.ap-northeast-1.amazonaws.com/prod"
    )
    assert ServiceSettings().environment == "production"


def test_lambda_source_needs_a_function_name(monkeypatch):
    monkeypatch.setenv("RESULT_SOURCE", "lambda")
    with pytest.raises(ValidationError, match="QUERY_RESULT_LAMBDA_NAME must be set"):
        ServiceSettings()
    monkeypatch.setenv("QUERY_RESULT_LAMBDA_NAME", "query_result_lambda")
    assert ServiceSettings().result_source == "lambda"


def test_deadline_must_fit_api_gateway(monkeypatch):
    monkeypatch.setenv("UPSTREAM_DEADLINE_SECONDS", "30")
    with pytest.raises(ValidationError):
        ServiceSettings()
    monkeypatch.setenv("UPSTREAM_DEADLINE_SECONDS", "3")
    monkeypatch.setenv("UPSTREAM_ATTEMPT_TIMEOUT_SECONDS", "4")
    with pytest.raises(ValidationError, match="must not exceed the deadline"):
        ServiceSettings()


def test_endpoint_override_only_in_local(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert ServiceSettings().aws_endpoint == "http://localhost:4566"  # LocalStack's, as documented
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert ServiceSettings().aws_endpoint == "http://127.0.0.1:9"
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv(
        "INTERNAL_API_URL", "https://abc.execute-api.ap-northeast-1.amazonaws.com/prod"
    )
    assert ServiceSettings().aws_endpoint is None


def test_production_start_without_settings_fails_with_one_clear_line():
    result = subprocess.run(
        [sys.executable, "-m", "ecs_service"],
        capture_output=True,
        text=True,
        env={"ENVIRONMENT": "production", "PATH": ""},
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "query-service: invalid configuration: INTERNAL_API_URL must be set when "
        "ENVIRONMENT=production"
    ]
