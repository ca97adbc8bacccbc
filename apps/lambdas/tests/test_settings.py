import pytest
from lambdas.query_result._settings import LOCAL_AWS_ENDPOINT, QueryResultSettings
from pydantic import ValidationError


def test_local_defaults(monkeypatch):
    for name in ("ENVIRONMENT", "AWS_ENDPOINT_URL", "RESULTS_TABLE_NAME"):
        monkeypatch.delenv(name, raising=False)
    settings = QueryResultSettings()
    assert settings.environment == "local"
    assert settings.results_table_name == "query-results"
    assert settings.endpoint_url == LOCAL_AWS_ENDPOINT


def test_local_endpoint_override(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5555")
    assert QueryResultSettings().endpoint_url == "http://127.0.0.1:5555"


def test_production_ignores_endpoint_overrides(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5555")
    assert QueryResultSettings().endpoint_url is None


def test_bad_values_are_refused_at_start(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "staging")
    with pytest.raises(ValidationError, match="environment"):
        QueryResultSettings()
