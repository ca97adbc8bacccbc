"""The one error tree of the query service (docs/contract.md#errors).

Every error ``query_core`` raises is a ``QueryCoreError`` (no pydantic, botocore or
``json`` exception escapes it). Each ``HTTPError`` carries its own answer: ``status_code``,
``detail`` (one of the class's closed set ``details``: a 400 says which rule the request
broke, never internals; the edge passes an upstream ``detail`` on only when it is one of
them) and, where it applies, ``retry_after`` (429, 503) or ``allow`` (405). The service's
exception handlers and OpenAPI ``responses`` and the Lambdas' proxy answers are all built
from this tree (``query_core.error_answer``, ``query_core.openapi_responses``), so a
status is added here, once.

```
QueryCoreError
├── HTTPError                          an answer: status, {"detail": ...}, headers
│   ├── RequestError                     4xx: the caller's fault; never an availability failure
│   │   ├── BadRequestError                400
│   │   │   ├── InvalidBodyError             body missing, not JSON, not an object
│   │   │   ├── InvalidNextTokenError        next_token malformed, tampered, foreign, expired
│   │   │   ├── InvalidQueryError            DynamoDB refused the query (ValidationException)
│   │   │   └── UnsupportedEventError        a Lambda event of no known shape
│   │   ├── UnauthorizedError              401 X-Caller-Id without a valid X-Caller-Proof
│   │   ├── ForbiddenError                 403 user_id not the caller's; another API's event
│   │   ├── NotFoundError                  404 unknown path
│   │   ├── MethodNotAllowedError          405 wrong method on a known path (Allow)
│   │   ├── RetiredPathError               410 /query/marketing and below
│   │   ├── PayloadTooLargeError           413 body over 64 KiB
│   │   ├── UnsupportedMediaTypeError      415 body with a non-JSON content type
│   │   ├── RequestValidationError         422 JSON that breaks the field rules
│   │   └── TooManyRequestsError           429 this user's reads are throttled (Retry-After)
│   │       └── RepositoryThrottledError     DynamoDB throttled this user's partition
│   └── DependencyError                  5xx: something this hop calls failed
│       ├── BadGatewayError                502 it answered something unusable
│       ├── ServiceUnavailableError        503 unreachable, throttling, circuit open (Retry-After)
│       │   └── RepositoryUnavailableError   DynamoDB unreachable, timed out, or failing (5xx)
│       └── GatewayTimeoutError            504 no answer within the deadline
└── RepositoryError                    DynamoDB failed: an internal error (500)
    ├── RepositoryThrottledError         (also a TooManyRequestsError)
    └── RepositoryUnavailableError       (also a ServiceUnavailableError)
```

A 429 is neither the request's fault nor the dependency's: DynamoDB throttles one user's
partition while it serves every other, so it is passed on, never retried nor counted
against the store's availability (docs/contract.md#fair-share). Anything else (a
``RepositoryError``, a bug) is answered 500 ``{"detail": "internal error"}``, logged.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from types import get_original_bases
from typing import Any, ClassVar, Final, Literal, get_args, get_origin

from query_core._http import FOREIGN_EVENT_DETAIL, MAX_BODY_BYTES, RETIRED_MARKETING_DETAIL

__all__ = [
    "FOREIGN_EVENT_DETAIL",
    "INTERNAL_ERROR_DETAIL",
    "BadGatewayError",
    "BadRequestError",
    "DependencyError",
    "ForbiddenError",
    "GatewayTimeoutError",
    "HTTPError",
    "InvalidBodyError",
    "InvalidNextTokenError",
    "InvalidQueryError",
    "MethodNotAllowedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "QueryCoreError",
    "RepositoryError",
    "RepositoryThrottledError",
    "RepositoryUnavailableError",
    "RequestError",
    "RequestValidationError",
    "RetiredPathError",
    "ServiceUnavailableError",
    "TooManyRequestsError",
    "UnauthorizedError",
    "UnsupportedEventError",
    "UnsupportedMediaTypeError",
    "error_classes",
]

#: The detail of every 500: nothing about what failed leaves the process.
INTERNAL_ERROR_DETAIL: Final = "internal error"


class QueryCoreError(Exception):
    """Root of every error raised by ``query_core``."""


class HTTPError(QueryCoreError):
    """An error that is answered ``status_code`` with ``{"detail": detail}``.

    ``details`` lists every text the class may carry (the first is the default);
    ``description`` is the OpenAPI description of the status.
    """

    status_code: ClassVar[int] = 500
    description: ClassVar[str] = "Internal error"
    details: ClassVar[tuple[str, ...]] = (INTERNAL_ERROR_DETAIL,)
    #: Seconds a client should wait before retrying (sent as ``Retry-After``), if any.
    default_retry_after: ClassVar[float | None] = None

    def __init__(self, detail: Any = None, *, retry_after: float | None = None) -> None:
        self.detail: Any = self.details[0] if detail is None else detail
        self.retry_after = self.default_retry_after if retry_after is None else retry_after
        super().__init__(self.detail if isinstance(self.detail, str) else type(self).description)

    @property
    def headers(self) -> dict[str, str]:
        """The headers of the answer: ``Retry-After`` in whole seconds, at least 1."""
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(max(1, math.ceil(self.retry_after)))}


class _ClosedDetailError[D: str](HTTPError):
    """An ``HTTPError`` whose detail is one of the texts of the ``Literal`` ``D``.

    ``class XError(_ClosedDetailError[XProblem], ParentError)`` takes its ``details`` from
    ``XProblem`` (the first is the default) and an ``__init__`` that mypy checks against
    them: the closed set of texts is written once, as a type.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in get_original_bases(cls):
            if get_origin(base) is _ClosedDetailError:
                (problem,) = get_args(base)
                cls.details = get_args(problem.__value__)

    def __init__(self, detail: D | None = None, *, retry_after: float | None = None) -> None:
        super().__init__(detail, retry_after=retry_after)


# --- 4xx ------------------------------------------------------------------------------


class RequestError(HTTPError):
    """The caller must change something: the request (retrying it unchanged cannot succeed),
    or, for a 429, its pace."""

    status_code = 400
    description = "Bad request"
    details: ClassVar[tuple[str, ...]] = ("the request is not valid",)


class BadRequestError(RequestError):
    """400: the body is not JSON, or ``next_token`` is not valid for this query."""

    description = "Body is not JSON, or next_token is malformed, tampered, expired or foreign"


type BodyProblem = Literal[
    "request body is empty; expected a JSON object",
    "request body is not valid JSON",
    "request body must be text",
    "request body is flagged base64 but is not valid base64",
]


class InvalidBodyError(_ClosedDetailError[BodyProblem], BadRequestError):
    """The body is missing, is not JSON, or is JSON but not an object."""


type TokenProblem = Literal[
    "next_token is malformed",
    "next_token is not valid for this query: it was altered, or it belongs "
    "to another user_id or ap_id",
    "next_token has expired: its key has been rotated out; start again without next_token",
]


class InvalidNextTokenError(_ClosedDetailError[TokenProblem], BadRequestError):
    """``next_token`` is malformed, was edited, belongs to another query, or its key is gone."""


class InvalidQueryError(BadRequestError):
    """DynamoDB refused the query as invalid (``ValidationException``): the caller's input."""

    details = ("the query is not valid for the results table",)


class UnsupportedEventError(BadRequestError):
    """A Lambda event that is none of the shapes this package decodes."""

    details = ("unsupported event",)


class UnauthorizedError(RequestError):
    """401 ``WWW-Authenticate: CallerProof``: no valid proof (docs/contract.md#caller-proof)."""

    status_code = 401
    description = "X-Caller-Id without a valid X-Caller-Proof (only the Query Lambda calls)"
    details = ("the caller is not proven: X-Caller-Proof is missing or not valid",)

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "CallerProof"}


class ForbiddenError(RequestError):
    """403: the caller is authenticated and ``user_id`` is not theirs (the owner check), or
    (``FOREIGN_EVENT_DETAIL``) the event comes from another API than the function's."""

    status_code = 403
    description = "The caller is authenticated and user_id is not theirs"
    details = (
        "the authenticated caller may not read this user_id's results",
        FOREIGN_EVENT_DETAIL,
    )


class NotFoundError(RequestError):
    """404: no such path (FastAPI's own detail)."""

    status_code = 404
    description = "Unknown path"
    details = ("Not Found",)


class MethodNotAllowedError(RequestError):
    """405: a known path, another method; ``allow`` lists the methods it takes."""

    status_code = 405
    description = "Wrong method on a known path"
    details = ("Method Not Allowed",)

    def __init__(self, allow: tuple[str, ...] = ("POST",)) -> None:
        super().__init__()
        self.allow = allow

    @property
    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allow)}


class RetiredPathError(RequestError):
    """410 on every method of ``/query/marketing`` and below.

    See docs/contract.md#retired-marketing.
    """

    status_code = 410
    description = "Retired: the marketing-campaign query"
    details = (RETIRED_MARKETING_DETAIL,)


class PayloadTooLargeError(RequestError):
    """413: the body is larger than ``MAX_BODY_BYTES`` (64 KiB)."""

    status_code = 413
    description = "Body over 64 KiB"
    details = (f"request body is larger than {MAX_BODY_BYTES} bytes",)


class UnsupportedMediaTypeError(RequestError):
    """415: the body's Content-Type is not JSON."""

    status_code = 415
    description = "Body with a non-JSON content type"
    details = ("Content-Type must be application/json",)


class RequestValidationError(RequestError):
    """422: JSON that breaks the field rules; ``errors`` has FastAPI's detail shape."""

    status_code = 422
    description = "JSON that breaks the field rules"
    details = ()

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors

    def __str__(self) -> str:
        return f"{len(self.errors)} validation error(s)"


type ThrottledProblem = Literal[
    "the results store is busy reading this user's results; retry later",
    "too many requests from this caller; retry later",  # the public API's WAF rule
]


class TooManyRequestsError(_ClosedDetailError[ThrottledProblem], RequestError):
    """429: reads of this caller's results are throttled; ``Retry-After`` says when to retry.

    Not an availability failure: the store answers every other caller meanwhile, so no hop
    retries it or counts it in a circuit breaker; the client waits and asks again.
    """

    status_code = 429
    description = "Reads of this user's results are throttled; retry after Retry-After"
    default_retry_after = 1.0


# --- 5xx ------------------------------------------------------------------------------


class DependencyError(HTTPError):
    """5xx: something this hop calls failed; the caller may retry later."""

    status_code = 502
    description = "A dependency failed"
    details: ClassVar[tuple[str, ...]] = ("a dependency failed",)


type BadGatewayProblem = Literal[
    "the results service answered something unusable",
    "the results service refused the call",
    "the query service is unreachable",
    "the query service answered something unusable",
]


class BadGatewayError(_ClosedDetailError[BadGatewayProblem], DependencyError):
    """502: the next hop answered something unusable (5xx, not JSON, wrong shape)."""

    status_code = 502
    description = "The internal API answered something unusable"


type UnavailableProblem = Literal[
    "the results service is unavailable; retry later",
    "the results service is busy; retry later",
    "the results service is failing; retry later",
    "the results store is unavailable; retry later",
]


class ServiceUnavailableError(_ClosedDetailError[UnavailableProblem], DependencyError):
    """503: the next hop is unreachable, throttling, or its circuit is open; ``Retry-After``."""

    status_code = 503
    description = "The internal API is unreachable, throttling, or the circuit is open"
    default_retry_after = 1.0


type TimeoutProblem = Literal[
    "the results service did not answer in time",
    "the query service did not answer in time",
]


class GatewayTimeoutError(_ClosedDetailError[TimeoutProblem], DependencyError):
    """504: the next hop did not answer within the deadline."""

    status_code = 504
    description = "The internal API did not answer within the deadline"


# --- the repository -------------------------------------------------------------------


class RepositoryError(QueryCoreError):
    """Reading the results table failed: answered 500 ``internal error``."""


class RepositoryThrottledError(RepositoryError, TooManyRequestsError):
    """DynamoDB throttled the read of one partition (429, ``Retry-After``).

    ``ProvisionedThroughputExceededException``, ``ThrottlingException`` or
    ``RequestLimitExceeded`` after botocore's own retries: one user's partition is hot
    (often one caller hammering it), not the table down for everyone.
    """

    def __init__(self) -> None:
        TooManyRequestsError.__init__(self)


class RepositoryUnavailableError(RepositoryError, ServiceUnavailableError):
    """DynamoDB could not be reached, timed out or failed on its side (503, ``Retry-After``).

    A 503 rather than the 500 of an unexpected failure: the hop in front retries it and its
    circuit breaker counts it, because it says the store is unavailable to everyone, not
    that one request was wrong (docs/contract.md#tokens).
    """

    details = ("the results store is unavailable; retry later",)

    def __init__(self, message: str) -> None:
        ServiceUnavailableError.__init__(self)
        self.args = (message,)


def error_classes() -> Iterator[type[HTTPError]]:
    """Every class of this tree that answers with a status, parents first."""
    pending: list[type[HTTPError]] = [HTTPError]
    seen: set[type[HTTPError]] = set()
    while pending:
        cls = pending.pop(0)
        if cls.__module__ == __name__ and cls not in seen:
            seen.add(cls)
            if not cls.__name__.startswith("_"):  # _ClosedDetailError gives texts, not a status
                yield cls
            pending.extend(cls.__subclasses__())
