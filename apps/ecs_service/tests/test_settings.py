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
    assert settings.upstream_timeout_seconds < 29


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


@pytest.mark.parametrize(
    ("name", "value"), [("RESULT_SOURCE", "lambda"), ("INTERNAL_API_AUTH", "iam")]
)
def test_parts_not_built_yet_are_refused_at_start(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match="not available in this version"):
        ServiceSettings()


def test_timeout_must_fit_api_gateway(monkeypatch):
    monkeypatch.setenv("UPSTREAM_TIMEOUT_SECONDS", "30")
    with pytest.raises(ValidationError):
        ServiceSettings()


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
