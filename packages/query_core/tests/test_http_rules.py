import uuid

import pytest
from query_core import (
    clean_request_id,
    is_json_media_type,
    is_public_path,
    is_retired_path,
    resolve_request_id,
)


@pytest.mark.parametrize(
    ("path", "retired"),
    [
        ("/query/marketing", True),
        ("/query/marketing/", True),
        ("/query/marketing/abc/def", True),
        ("/query/marketingx", False),
        ("/query/result", False),
        ("/", False),
    ],
)
def test_retired_paths(path, retired):
    assert is_retired_path(path) is retired


@pytest.mark.parametrize(
    ("value", "is_json"),
    [
        (None, True),
        ("", True),
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/vnd.api+json", True),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
        ("multipart/form-data; boundary=x", False),
    ],
)
def test_json_media_types(value, is_json):
    assert is_json_media_type(value) is is_json


@pytest.mark.parametrize(
    ("value", "cleaned"),
    [
        ("req-1", "req-1"),
        ("c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"),
        ("Root=1-abc", "Root=1-abc"),
        ("", None),
        ("x" * 129, None),
        ("bad\nline", None),
        ('quote"', None),
        (None, None),
    ],
)
def test_request_ids_are_cleaned(value, cleaned):
    assert clean_request_id(value) == cleaned


def test_request_id_is_the_callers_when_clean():
    assert resolve_request_id("client-7", "gw-1") == "client-7"
    assert resolve_request_id("  client-7 ", "gw-1") == "client-7"


@pytest.mark.parametrize("caller", [None, "", "bad\nid", "x" * 129, 'q"uote', 42, "é"])
def test_request_id_falls_back_to_the_platforms(caller):
    assert resolve_request_id(caller, "gw-1") == "gw-1"


@pytest.mark.parametrize("platform", [None, "", "bad id", "y" * 200])
def test_request_id_is_generated_as_a_uuid4_when_neither_is_usable(platform):
    first = resolve_request_id("bad\rid", platform)
    assert str(uuid.UUID(first, version=4)) == first
    assert resolve_request_id(None, platform) != first


@pytest.mark.parametrize(
    ("path", "public"),
    [
        ("/query/result", True),
        ("/query/marketing", True),
        ("/query/marketing/x/y", True),
        ("/query/result/", False),
        ("/query/results", False),
        ("/health", False),
        ("/docs", False),
        ("/openapi.json", False),
        ("/redoc", False),
        ("/", False),
        ("", False),
        # dot segments, resolved as a client sends the path (urllib3 does)
        ("/query/marketing/../../health", False),
        ("/query/marketing/../../docs", False),
        ("/query/marketing/./../../openapi.json", False),
        ("/query/marketing/x/../../../redoc", False),
        ("/query/marketing/..", False),  # /query/
        ("/query/result/..", False),  # /query/
        ("/../../query/health", False),
        ("/query/marketing/.", True),  # /query/marketing/
        ("/query/marketing/x/..", True),  # /query/marketing/
        ("/query/x/../result", True),  # /query/result
        ("/query/marketing/..x/y.", True),
        ("/query/marketing/%2e%2e/health", True),  # not a dot segment until decoded: 410 there
    ],
)
def test_public_paths(path, public):
    assert is_public_path(path) is public
