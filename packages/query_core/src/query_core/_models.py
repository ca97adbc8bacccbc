"""The wire models of ``POST /query/result`` (docs/contract.md#query-result)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Final, Self

import pydantic
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import to_jsonable_python

from query_core._exceptions import InvalidBodyError, RequestValidationError

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "QueryRequest",
    "QueryResponse",
    "ResultItem",
    "parse_query_request",
]

DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 100

_ID_PATTERN: Final = r"^[A-Za-z0-9_.:@-]+$"

type UserId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=_ID_PATTERN)]
type ApId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_ID_PATTERN)]


class QueryRequest(BaseModel):
    """The body of ``POST /query/result``; unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: UserId
    ap_id: ApId | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT
    next_token: Annotated[str, Field(min_length=1, max_length=4096)] | None = None


class ResultItem(BaseModel):
    """One stored result, as plain JSON."""

    result_id: str
    user_id: str
    ap_id: str | None = None
    status: str
    created_at: str
    data: dict[str, Any] = Field(default_factory=dict)


class QueryResponse(BaseModel):
    """One page of a user's results, newest first; ``count`` is ``len(items)``.

    No ``mode="before"`` validator: it would make pydantic build Python objects from the
    JSON before validating them, doubling the cost of reading a page (the service reads
    one per request). A missing ``count`` defaults from the validated ``items``.
    """

    # Every field is in every answer: the response schema says so (next_token: null).
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    user_id: str
    items: list[ResultItem]
    count: int = Field(default_factory=lambda data: len(data["items"]))
    next_token: str | None = None

    @model_validator(mode="after")
    def _count_matches_items(self) -> Self:
        if self.count != len(self.items):
            raise ValueError(f"count is {self.count} but there are {len(self.items)} items")
        return self


def _strict_json(value: Any) -> Any:
    """``value`` with every NaN or infinity as its text (``"nan"``, ``"inf"``, ``"-inf"``).

    The JSON parsers take ``NaN``, ``Infinity`` and ``1e999``, and a 422 echoes the
    ``input``; strict JSON has no such numbers (Starlette's ``JSONResponse`` refuses them
    with a 500, a Lambda would write a body its caller cannot parse).
    """
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_strict_json(item) for item in value]
    if isinstance(value, dict):
        return {key: _strict_json(item) for key, item in value.items()}
    return value


def _validation_error(exc: pydantic.ValidationError) -> RequestValidationError:
    """Translate pydantic's errors into FastAPI's 422 detail list (``loc`` starts at body)."""
    errors = [
        {**error, "loc": ["body", *error["loc"]]}
        for error in exc.errors(include_url=False, include_context=True)
    ]
    return RequestValidationError(_strict_json(to_jsonable_python(errors, fallback=str)))


def parse_query_request(body: bytes | str | Mapping[str, Any] | None) -> QueryRequest:
    """Validate a request body: raw JSON text, or an already decoded object.

    Raises ``InvalidBodyError`` (400) when there is no body or it is not JSON, and
    ``RequestValidationError`` (422) when the JSON breaks the field rules.
    """
    if body is None or (isinstance(body, bytes | str) and not body.strip()):
        raise InvalidBodyError("request body is empty; expected a JSON object")
    try:
        if isinstance(body, bytes | str):
            return QueryRequest.model_validate_json(body)
        return QueryRequest.model_validate(body)
    except pydantic.ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors(include_url=False)):
            raise InvalidBodyError("request body is not valid JSON") from exc
        raise _validation_error(exc) from exc
