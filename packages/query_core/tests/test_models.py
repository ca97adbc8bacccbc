import json

import pytest
from query_core import (
    InvalidBodyError,
    QueryRequest,
    QueryResponse,
    RequestValidationError,
    ResultItem,
    parse_query_request,
)


def test_defaults():
    request = parse_query_request(b'{"user_id": "u-1"}')
    assert request == QueryRequest(user_id="u-1", ap_id=None, limit=20, next_token=None)


@pytest.mark.parametrize("user_id", ["a", "A-z_0.9:@x", "x" * 128, "user@example.com", "tenant:42"])
def test_valid_user_ids(user_id):
    assert parse_query_request({"user_id": user_id}).user_id == user_id


@pytest.mark.parametrize(
    ("body", "field", "error_type"),
    [
        ({}, "user_id", "missing"),
        ({"user_id": ""}, "user_id", "string_too_short"),
        ({"user_id": "x" * 129}, "user_id", "string_too_long"),
        ({"user_id": "has space"}, "user_id", "string_pattern_mismatch"),
        ({"user_id": "semi;colon"}, "user_id", "string_pattern_mismatch"),
        ({"user_id": 42}, "user_id", "string_type"),
        ({"user_id": "u", "ap_id": ""}, "ap_id", "string_too_short"),
        ({"user_id": "u", "ap_id": "x" * 65}, "ap_id", "string_too_long"),
        ({"user_id": "u", "ap_id": "a/b"}, "ap_id", "string_pattern_mismatch"),
        ({"user_id": "u", "limit": 0}, "limit", "greater_than_equal"),
        ({"user_id": "u", "limit": 101}, "limit", "less_than_equal"),
        ({"user_id": "u", "limit": "many"}, "limit", "int_parsing"),
        ({"user_id": "u", "next_token": ""}, "next_token", "string_too_short"),
        ({"user_id": "u", "marketing_id": "m-1"}, "marketing_id", "extra_forbidden"),
    ],
)
def test_field_rules_give_fastapi_shaped_422(body, field, error_type):
    with pytest.raises(RequestValidationError) as caught:
        parse_query_request(json.dumps(body).encode())
    assert caught.value.status_code == 422
    (error,) = caught.value.detail
    assert error["loc"] == ["body", field]
    assert error["type"] == error_type
    assert isinstance(error["msg"], str)
    assert "url" not in error
    json.dumps(caught.value.detail)  # the detail is plain JSON


@pytest.mark.parametrize(
    ("body", "echoed"),
    [
        (b'{"user_id": "u", "limit": NaN}', "nan"),
        (b'{"user_id": "u", "limit": Infinity}', "inf"),
        (b'{"user_id": "u", "limit": -Infinity}', "-inf"),
        (b'{"user_id": "u", "limit": 1e999}', "inf"),
        (b'{"user_id": "u", "next_token": NaN}', "nan"),
        (b'{"user_id": NaN}', "nan"),
    ],
)
def test_a_422_echoing_nan_or_infinity_is_still_strict_json(body, echoed):
    # The parsers take NaN and Infinity; a detail echoing them must stay strict JSON, or
    # Starlette's JSONResponse answers 500 and a Lambda writes a body no client can parse.
    with pytest.raises(RequestValidationError) as caught:
        parse_query_request(body)
    text = json.dumps(caught.value.detail, allow_nan=False)
    assert json.loads(text)[0]["input"] == echoed


def test_a_nan_nested_in_an_unknown_field_is_strict_json_too():
    with pytest.raises(RequestValidationError) as caught:
        parse_query_request(b'{"user_id": "u", "x": [1.5, NaN, {"y": -Infinity}]}')
    (error,) = caught.value.detail
    assert error["type"] == "extra_forbidden"
    assert json.loads(json.dumps(error, allow_nan=False))["input"] == [1.5, "nan", {"y": "-inf"}]


def test_a_json_array_is_a_422_not_a_400():
    with pytest.raises(RequestValidationError) as caught:
        parse_query_request(b"[1, 2]")
    assert caught.value.detail[0]["loc"] == ["body"]


EMPTY = "request body is empty; expected a JSON object"
NOT_JSON = "request body is not valid JSON"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (None, EMPTY),
        (b"", EMPTY),
        (b"   ", EMPTY),
        ("", EMPTY),
        (b"{not json", NOT_JSON),
        (b"\xff\xfe", NOT_JSON),
        (b'{"user_id":', NOT_JSON),
    ],
)
def test_missing_or_broken_json_is_a_400(body, detail):
    with pytest.raises(InvalidBodyError) as caught:
        parse_query_request(body)
    assert caught.value.status_code == 400
    assert caught.value.detail == detail


def test_response_count_is_the_number_of_items():
    item = ResultItem(result_id="r1", user_id="u", status="done", created_at="2026-01-01T00:00:00Z")
    assert QueryResponse(user_id="u", items=[item, item], count=2).count == 2
    assert QueryResponse.model_validate({"user_id": "u", "items": []}).count == 0
    with pytest.raises(ValueError, match="count is 3"):
        QueryResponse(user_id="u", items=[item], count=3)


def test_response_json_shape():
    item = ResultItem(
        result_id="r1", user_id="u", status="done", created_at="2026-01-01T00:00:00Z", data={"a": 1}
    )
    body = json.loads(QueryResponse(user_id="u", items=[item], count=1).model_dump_json())
    assert body == {
        "user_id": "u",
        "items": [
            {
                "result_id": "r1",
                "user_id": "u",
                "ap_id": None,
                "status": "done",
                "created_at": "2026-01-01T00:00:00Z",
                "data": {"a": 1},
            }
        ],
        "count": 1,
        "next_token": None,
    }
