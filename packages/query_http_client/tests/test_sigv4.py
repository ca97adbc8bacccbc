"""SigV4 with botocore's signer, checked against an independent computation (AWS's algorithm)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from urllib.parse import urlsplit

import pytest
from botocore.credentials import Credentials, RefreshableCredentials
from query_http_client.sigv4 import SigV4Signer

URL = "https://abc123defg.execute-api.ap-northeast-1.amazonaws.com/prod/query/result"
BODY = b'{"user_id":"u-1001","limit":5}'
WHEN = dt.datetime(2026, 11, 26, 10, 12, 31, tzinfo=dt.UTC)
KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def reference_signature(headers: dict[str, str]) -> str:
    """SigV4 by the book (docs.aws.amazon.com, 'Create a signed AWS API request')."""
    amz_date = WHEN.strftime("%Y%m%dT%H%M%SZ")
    date = WHEN.strftime("%Y%m%d")
    url = urlsplit(URL)
    signed = {
        "host": url.netloc,
        "x-amz-date": amz_date,
        **{k.lower(): v for k, v in headers.items()},
    }
    names = sorted(signed)
    canonical = "\n".join(
        [
            "POST",
            url.path,
            "",
            "".join(f"{name}:{signed[name].strip()}\n" for name in names),
            ";".join(names),
            hashlib.sha256(BODY).hexdigest(),
        ]
    )
    scope = f"{date}/ap-northeast-1/execute-api/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )

    def mac(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    k = mac(
        mac(mac(mac(f"AWS4{SECRET}".encode(), date), "ap-northeast-1"), "execute-api"),
        "aws4_request",
    )
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"AWS4-HMAC-SHA256 Credential={KEY}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )


@pytest.fixture
def frozen_time(monkeypatch):
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: WHEN.replace(tzinfo=None))


def test_signature_matches_an_independent_computation(frozen_time):
    headers = {"Content-Type": "application/json", "X-Request-Id": "req-1"}
    signer = SigV4Signer("ap-northeast-1", credentials=Credentials(KEY, SECRET))
    signed = signer("POST", URL, headers, BODY)
    assert signed["X-Amz-Date"] == "20261126T101231Z"
    assert signed["Authorization"] == reference_signature(headers)
    assert signed["X-Request-Id"] == "req-1"


def test_session_token_is_sent_and_rotated_credentials_are_used(frozen_time):
    generation = iter(range(100))
    start = dt.datetime.now(dt.UTC)

    def refresh():
        n = next(generation)
        expiry = start + dt.timedelta(minutes=20 + 60 * n)
        return {
            "access_key": f"ASIA{n}",
            "secret_key": "s",
            "token": f"token-{n}",
            "expiry_time": expiry.isoformat(),
        }

    now = [start]
    first_metadata = refresh()
    credentials = RefreshableCredentials(
        first_metadata["access_key"],
        first_metadata["secret_key"],
        first_metadata["token"],
        dt.datetime.fromisoformat(first_metadata["expiry_time"]),
        refresh,
        "test",
        time_fetcher=lambda: now[0],
    )
    signer = SigV4Signer("ap-northeast-1", credentials=credentials)
    first = signer("POST", URL, {}, BODY)
    assert first["X-Amz-Security-Token"] == "token-0"
    assert "Credential=ASIA0/" in first["Authorization"]
    # Fifteen minutes later the task role's credentials are about to expire: botocore
    # fetches the rotated ones and the next request is signed with them.
    now[0] = start + dt.timedelta(minutes=15)
    second = signer("POST", URL, {}, BODY)
    assert second["X-Amz-Security-Token"] == "token-1"
    assert "Credential=ASIA1/" in second["Authorization"]


def test_missing_credentials_are_a_clear_error(monkeypatch):
    class NoCredentials:
        def get_credentials(self) -> None:
            return None

    monkeypatch.setattr("query_http_client.sigv4.get_session", NoCredentials)
    with pytest.raises(ValueError, match="no AWS credentials"):
        SigV4Signer("ap-northeast-1")
