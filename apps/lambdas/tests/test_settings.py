import pytest
from lambdas._startup import SettingsError
from lambdas.query_result._settings import QueryResultSettings
from query_core.aws import LOCAL_AWS_ENDPOINT


def test_local_defaults(monkeypatch):
    for name in ("ENVIRONMENT", "AWS_ENDPOINT_URL", "RESULTS_TABLE_NAME"):
        monkeypatch.delenv(name, raising=False)
    settings = QueryResultSettings.from_environ()
    assert settings.environment == "local"
    assert settings.results_table_name == "query-results"
    assert settings.endpoint_url == LOCAL_AWS_ENDPOINT


def test_local_endpoint_override(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5555")
    assert QueryResultSettings.from_environ().endpoint_url == "http://127.0.0.1:5555"


def test_production_ignores_endpoint_overrides(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("NEXT_TOKEN_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:t")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5555")
    assert QueryResultSettings.from_environ().endpoint_url is None


def test_bad_values_are_refused_at_start(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "staging")
    with pytest.raises(
        SettingsError, match=r"^ENVIRONMENT: Input should be 'local' or 'production'$"
    ):
        QueryResultSettings.from_environ()


def test_empty_variables_count_as_unset(monkeypatch):
    monkeypatch.setenv("RESULTS_TABLE_NAME", "")
    assert QueryResultSettings.from_environ().results_table_name == "query-results"


def test_explicit_mapping_is_read():
    settings = QueryResultSettings.from_environ(
        {
            "ENVIRONMENT": "production",
            "RESULTS_TABLE_NAME": "prod-results",
            "AWS_REGION": "eu-west-1",
            "NEXT_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:t",
        }
    )
    assert (settings.environment, settings.results_table_name, settings.aws_region) == (
        "production",
        "prod-results",
        "eu-west-1",
    )


def test_production_needs_the_token_secret():
    with pytest.raises(SettingsError, match=r"^NEXT_TOKEN_SECRET_ARN must be set when ENVIRONMENT"):
        QueryResultSettings.from_environ(
            {"ENVIRONMENT": "production", "NEXT_TOKEN_SECRET": "literal-is-for-local-only"}
        )


def test_every_wrong_variable_is_named_on_one_line():
    with pytest.raises(SettingsError) as info:
        QueryResultSettings.from_environ({"RESULTS_TABLE_NAME": "x", "DYNAMODB_MAX_ATTEMPTS": "99"})
    assert str(info.value) == (
        "RESULTS_TABLE_NAME: String should have at least 3 characters; "
        "DYNAMODB_MAX_ATTEMPTS: Input should be less than or equal to 10"
    )


def test_event_sources_are_checked_and_default_to_what_the_stack_deploys():
    assert QueryResultSettings.from_environ({}).sources == {"rest_v1", "direct"}
    settings = QueryResultSettings.from_environ({"EVENT_SOURCES": " http_v2 ,rest_v1"})
    assert settings.sources == {"http_v2", "rest_v1"}
    with pytest.raises(SettingsError, match=r"^EVENT_SOURCES: must list some of .*, not v3$"):
        QueryResultSettings.from_environ({"EVENT_SOURCES": "rest_v1,v3"})
    with pytest.raises(SettingsError, match="EVENT_SOURCES"):
        QueryResultSettings.from_environ({"EVENT_SOURCES": ","})
