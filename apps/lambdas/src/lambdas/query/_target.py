"""Which side a request goes to: a page follows the side that issued its ``next_token``.

While the old EKS handler and the service both serve (a canary, its rollback), alias
``live``'s weights pick a version per invocation, and each side refuses the other's
tokens. So, while both URLs are set, a request whose body carries a ``next_token`` goes to
the side that issued it: this service's tokens are recognised by their spelling
(``PageTokenCodec.has_shape``), anything else is the old handler's. A first page goes to the
version's own target (``EKS_HANDLER_URL``).
docs/decisions/0011-canary-pages-follow-their-token.md says why not a split by user.
"""

from __future__ import annotations

import json

from query_core import PageTokenCodec
from query_core.events import LambdaRequest

from lambdas.query._settings import QueryLambdaSettings

__all__ = ["target_url"]


def _next_token(body: bytes | None) -> str | None:
    if not body or b"next_token" not in body:
        return None
    try:
        document = json.loads(body)
    except ValueError:  # the target answers the contract's 400 for it
        return None
    token = document.get("next_token") if isinstance(document, dict) else None
    return token if isinstance(token, str) and token else None


def target_url(request: LambdaRequest, settings: QueryLambdaSettings) -> str:
    """The base URL ``request`` is forwarded to."""
    both = settings.both_targets
    if both is None:
        return settings.eks_handler_url
    token = _next_token(request.body)
    if token is None:
        return settings.eks_handler_url
    service, old_handler = both
    return service if PageTokenCodec.has_shape(token) else old_handler
