"""The errors of ``query_core``.

Every error this package raises is a ``QueryCoreError``; no pydantic, botocore or
``json`` exception escapes it. Apps map this tree to HTTP answers in one place.

```
QueryCoreError
├── RequestError                 the caller's fault: the apps answer 4xx
│   ├── InvalidBodyError           body is not a JSON object                 -> 400
│   ├── InvalidNextTokenError      next_token malformed, tampered or foreign -> 400
│   ├── PayloadTooLargeError       body over 64 KiB                          -> 413
│   ├── UnsupportedMediaTypeError  body with a non-JSON content type         -> 415
│   └── RequestValidationError     JSON that breaks the field rules          -> 422
├── UnsupportedEventError        a Lambda event of no known shape
└── RepositoryError              DynamoDB failed                            -> 500
    └── RepositoryThrottledError   DynamoDB throttled the read              -> 503
```
"""

from __future__ import annotations

from typing import Any

from query_core._http import MAX_BODY_BYTES

__all__ = [
    "InvalidBodyError",
    "InvalidNextTokenError",
    "PayloadTooLargeError",
    "QueryCoreError",
    "RepositoryError",
    "RepositoryThrottledError",
    "RequestError",
    "RequestValidationError",
    "UnsupportedEventError",
    "UnsupportedMediaTypeError",
]


class QueryCoreError(Exception):
    """Root of every error raised by ``query_core``."""


class RequestError(QueryCoreError):
    """The request itself is wrong; retrying it unchanged cannot succeed."""

    status_code: int = 400

    @property
    def detail(self) -> Any:
        """The value of ``{"detail": ...}`` in the HTTP answer."""
        return str(self)


class InvalidBodyError(RequestError):
    """The body is missing, is not JSON, or is JSON but not an object."""


class InvalidNextTokenError(RequestError):
    """``next_token`` is malformed, was edited, or belongs to another query."""


class PayloadTooLargeError(RequestError):
    """The body is larger than ``MAX_BODY_BYTES`` (64 KiB)."""

    status_code = 413

    def __init__(self) -> None:
        super().__init__(f"request body is larger than {MAX_BODY_BYTES} bytes")


class UnsupportedMediaTypeError(RequestError):
    """The body's Content-Type is not JSON."""

    status_code = 415

    def __init__(self) -> None:
        super().__init__("Content-Type must be application/json")


class RequestValidationError(RequestError):
    """JSON that breaks the field rules; ``errors`` has FastAPI's detail shape."""

    status_code = 422

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} validation error(s)")
        self.errors = errors

    @property
    def detail(self) -> Any:
        return self.errors


class UnsupportedEventError(QueryCoreError):
    """A Lambda event that is none of the shapes this package decodes."""


class RepositoryError(QueryCoreError):
    """Reading the results table failed."""


class RepositoryThrottledError(RepositoryError):
    """DynamoDB throttled the read; a later retry may succeed."""
