"""DynamoDB's typed attribute values to plain JSON values (docs/contract.md#query-result).

Numbers come back as ``int`` when integral and ``float`` otherwise, sets as sorted
lists (binary sets sorted by their bytes), binary values as base64 text; maps and
lists are converted recursively.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = ["from_attribute_value", "from_item"]

type JSONValue = bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None


def _number(text: str) -> int | float:
    value = Decimal(text)
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _binary(value: bytes | bytearray | str) -> str:
    # boto3's client has already decoded the wire's base64 into bytes.
    raw = value.encode() if isinstance(value, str) else bytes(value)
    return base64.b64encode(raw).decode("ascii")


def from_attribute_value(value: Mapping[str, Any]) -> JSONValue:
    """Convert one attribute value such as ``{"N": "1.5"}`` to JSON."""
    ((kind, inner),) = value.items()
    match kind:
        case "S":
            return str(inner)
        case "N":
            return _number(inner)
        case "BOOL":
            return bool(inner)
        case "NULL":
            return None
        case "B":
            return _binary(inner)
        case "M":
            return {key: from_attribute_value(item) for key, item in inner.items()}
        case "L":
            return [from_attribute_value(item) for item in inner]
        case "SS":
            strings: list[JSONValue] = [str(item) for item in sorted(inner)]
            return strings
        case "NS":
            numbers: list[JSONValue] = []
            numbers.extend(sorted(_number(item) for item in inner))
            return numbers
        case "BS":
            raws = sorted(item.encode() if isinstance(item, str) else bytes(item) for item in inner)
            return [_binary(raw) for raw in raws]
        case _:
            raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def from_item(item: Mapping[str, Mapping[str, Any]]) -> dict[str, JSONValue]:
    """Convert a whole item (attribute name to typed value) to a JSON object."""
    return {name: from_attribute_value(value) for name, value in item.items()}
