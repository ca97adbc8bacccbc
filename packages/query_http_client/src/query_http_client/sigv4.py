"""SigV4 signing for the private API (``INTERNAL_API_AUTH=iam``), with botocore's signer.

Needs the ``sigv4`` extra (botocore). Credentials come from botocore's standard provider
chain (on ECS, the task role through the container credentials endpoint) and are
refreshed by botocore before they expire; each request is signed with the current ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.session import get_session

if TYPE_CHECKING:
    from botocore.credentials import Credentials

__all__ = ["SigV4Signer"]


class SigV4Signer:
    """A ``RequestSigner`` that adds SigV4 headers for ``service`` in ``region``."""

    def __init__(
        self, region: str, *, service: str = "execute-api", credentials: Credentials | None = None
    ) -> None:
        resolved = credentials if credentials is not None else get_session().get_credentials()
        if resolved is None:
            raise ValueError("no AWS credentials found for SigV4 (on ECS, give the task a role)")
        self._credentials = resolved
        self._region = region
        self._service = service

    def __call__(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> Mapping[str, str]:
        """``headers`` plus ``Authorization``, ``X-Amz-Date`` (and the session token)."""
        frozen = self._credentials.get_frozen_credentials()  # refreshes rotated credentials
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
        SigV4Auth(frozen, self._service, self._region).add_auth(request)
        return dict(request.headers.items())
