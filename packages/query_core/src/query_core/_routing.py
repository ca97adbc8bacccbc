"""The routing of the public API for fronts without a router of their own.

docs/contract.md#errors: 410 on the retired marketing path, 404 elsewhere, 405 for another
method on ``POST /query/result``.
"""

from __future__ import annotations

from query_core._exceptions import MethodNotAllowedError, NotFoundError, RetiredPathError
from query_core._http import RESULT_PATH, is_retired_path

__all__ = ["check_route"]


def check_route(method: str, path: str) -> None:
    """Raise the answer of a request that is not ``POST /query/result``.

    ``RetiredPathError`` (410) on ``/query/marketing`` and below, whatever the method;
    ``NotFoundError`` (404) on any other path; ``MethodNotAllowedError`` (405) for
    another method on ``/query/result``.
    """
    if is_retired_path(path):
        raise RetiredPathError
    if path != RESULT_PATH:
        raise NotFoundError
    if method.upper() != "POST":
        raise MethodNotAllowedError(("POST",))
