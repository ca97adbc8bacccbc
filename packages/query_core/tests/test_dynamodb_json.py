import base64

import pytest
from query_core.dynamodb import from_attribute_value, from_item


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"S": "text"}, "text"),
        ({"N": "42"}, 42),
        ({"N": "-7"}, -7),
        ({"N": "1E+3"}, 1000),
        ({"N": "10.0"}, 10),
        ({"N": "1.5"}, 1.5),
        ({"N": "-0.25"}, -0.25),
        ({"N": "12345678901234567890123456789012345678"}, 12345678901234567890123456789012345678),
        ({"N": "1E+125"}, 10**125),
        ({"N": "0.000000000000000000001"}, 1e-21),
        ({"BOOL": False}, False),
        ({"NULL": True}, None),
        ({"B": b"\x00\xffhi"}, base64.b64encode(b"\x00\xffhi").decode()),
        ({"SS": ["b", "c", "a"]}, ["a", "b", "c"]),
        ({"NS": ["10", "2", "1.5"]}, [1.5, 2, 10]),
        ({"BS": [b"\x02", b"\x01"]}, [base64.b64encode(b"\x01").decode(), "Ag=="]),
        ({"L": [{"S": "a"}, {"N": "1"}, {"L": []}]}, ["a", 1, []]),
        ({"M": {}}, {}),
    ],
)
def test_scalar_and_collection_values(value, expected):
    result = from_attribute_value(value)
    assert result == expected
    assert type(result) is type(expected)


def test_big_integers_stay_exact():
    assert from_attribute_value({"N": "99999999999999999999999999999999999999"}) == 10**38 - 1


def test_nested_maps_convert_recursively():
    item = {
        "data": {
            "M": {
                "inner": {"M": {"tags": {"SS": ["z", "y"]}, "n": {"N": "3"}}},
                "list": {"L": [{"M": {"b": {"B": b"x"}}}, {"NS": ["3", "1"]}]},
            }
        }
    }
    assert from_item(item) == {
        "data": {"inner": {"tags": ["y", "z"], "n": 3}, "list": [{"b": "eA=="}, [1, 3]]}
    }


def test_unknown_type_is_an_error():
    with pytest.raises(ValueError, match="unknown DynamoDB attribute type"):
        from_attribute_value({"X": "?"})
