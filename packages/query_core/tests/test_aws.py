"""One rule for boto3 clients: AWS's own endpoints in production, whatever the environment says."""

import pytest
from query_core.aws import LOCAL_AWS_ENDPOINT, create_client, endpoint_url_for


def test_local_uses_the_override_or_localstack():
    assert endpoint_url_for("local", "http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert endpoint_url_for("local", None) == LOCAL_AWS_ENDPOINT


def test_production_ignores_overrides():
    assert endpoint_url_for("production", "http://127.0.0.1:5000") is None


def test_a_client_talks_to_the_emulator_it_is_given(dynamodb_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = create_client(
        "dynamodb",
        region="us-east-1",
        endpoint_url=dynamodb_endpoint,
        connect_timeout=5,
        read_timeout=60,  # the emulator loads its DynamoDB backend on the first call
        max_attempts=1,
    )
    assert isinstance(client.list_tables()["TableNames"], list)
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"])
def test_without_an_endpoint_the_environments_overrides_are_ignored(monkeypatch, variable):
    monkeypatch.setenv(variable, "http://127.0.0.1:9")
    client = create_client(
        "dynamodb",
        region="eu-west-1",
        endpoint_url=None,
        connect_timeout=1,
        read_timeout=1,
        max_attempts=1,
    )
    assert client.meta.endpoint_url == "https://dynamodb.eu-west-1.amazonaws.com"
