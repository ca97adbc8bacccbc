"""The shared fixtures reach every suite through pytest's entry point, and do what they say."""

from __future__ import annotations

import os

import boto3
import pytest
from query_devstack.pytest_plugin import FAKE_AWS_CREDENTIALS


def test_the_plugin_is_registered_by_its_entry_point(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("query_devstack")


@pytest.fixture
def developer_shell(monkeypatch):
    """A shell with a real-looking profile and key, set before the fake credentials."""
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKINGKEY00")


def test_fake_aws_credentials_replace_the_shells_and_sign_with_testing(
    developer_shell, fake_aws_credentials
):
    assert fake_aws_credentials == FAKE_AWS_CREDENTIALS
    assert "AWS_PROFILE" not in os.environ
    for name, value in FAKE_AWS_CREDENTIALS.items():
        assert os.environ[name] == value
    session = boto3.Session()
    credentials = session.get_credentials()
    assert credentials is not None
    assert (credentials.access_key, credentials.secret_key) == ("testing", "testing")
    assert session.region_name == "us-east-1"
