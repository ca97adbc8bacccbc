import pytest
from query_core import clean_request_id, is_json_media_type, is_retired_path


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
