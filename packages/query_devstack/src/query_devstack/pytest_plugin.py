"""The workspace's shared pytest fixtures, loaded by pytest through the ``pytest11`` entry point.

Only development code: the test suites of the members that depend on ``query-devstack``
use them by name (``pytest.mark.usefixtures("fake_aws_credentials")``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import pytest

from query_devstack._emulator import _LOCAL_KEY, LOCAL_REGION

__all__ = ["FAKE_AWS_CREDENTIALS", "fake_aws_credentials"]

#: What boto3 and botocore need to sign a call to an emulator (the emulators' own dummy key,
#: "testing"); never a real account's.
FAKE_AWS_CREDENTIALS: Final[Mapping[str, str]] = {
    "AWS_ACCESS_KEY_ID": _LOCAL_KEY,
    "AWS_SECRET_ACCESS_KEY": _LOCAL_KEY,
    "AWS_SESSION_TOKEN": _LOCAL_KEY,
    "AWS_DEFAULT_REGION": LOCAL_REGION,
}


@pytest.fixture
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> Mapping[str, str]:
    """Fake AWS credentials and region in the environment for the test, as ``FAKE_AWS_CREDENTIALS``.

    A real profile or key of the developer's shell is hidden, so a test can neither reach
    nor be configured by a real account.
    """
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name, value in FAKE_AWS_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    return FAKE_AWS_CREDENTIALS
