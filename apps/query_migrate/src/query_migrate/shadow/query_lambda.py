"""``query-lambda:<alias>``: the Query Lambda's alias invoked as the public API would invoke
it, with an identity the owner check accepts.

Each body becomes a REST proxy event of ``POST /query/result``
(``query_core.events.rest_proxy_event``) whose authorizer names the caller: the test identity
(``--identity``, else the context's ``canaryTestUserId``), or with ``--as-owner`` the body's
own ``user_id``, so that real users' pages can be compared through the whole path behind the
alias with the owner check on. The events carry the public API's id (``apiId``: the Query
Lambda takes only its API's events, docs/contract.md#side-doors): ``existingPublicApiId``,
else the host of ``PublicApiUrl``. Nothing needs a host in the Query Lambda's security group.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from query_core import RESULT_PATH
from query_core.events import rest_proxy_event

from query_migrate._errors import MigrateError
from query_migrate.shadow.targets import Answer, envelope_answer

if TYPE_CHECKING:
    from query_migrate._aws import Aws

__all__ = ["QueryLambdaTarget", "query_lambda_function"]

PREFIX = "query-lambda:"


def query_lambda_function(spec: str, function: str | None) -> str:
    """What to invoke for ``query-lambda:<alias>``: an alias ARN or ``NAME:alias`` as given,
    else the alias of ``function`` (the stack's ``QueryLambdaFunctionName``)."""
    alias = spec.removeprefix(PREFIX)
    if not alias:
        raise MigrateError(f"{spec}: name the alias, e.g. query-lambda:live")
    if ":" in alias:
        return alias
    if not function:
        raise MigrateError(
            f"{spec}: the function is not known: --stack, --query-lambda NAME, or "
            "query-lambda:NAME:ALIAS"
        )
    return f"{function}:{alias}"


class QueryLambdaTarget:
    """The Query Lambda's alias, each body sent as the caller (``identity`` or its owner)."""

    def __init__(
        self,
        function: str,
        aws: Aws,
        *,
        identity: str | None,
        claim: str,
        as_owner: bool,
        api_id: str | None = None,
    ) -> None:
        if identity is None and not as_owner:
            raise MigrateError(
                f"{PREFIX}…: invoke as whom? --identity USER (or the context's "
                "canaryTestUserId), or --as-owner"
            )
        who = "each body's user_id" if as_owner else identity
        self.label = f"{PREFIX}{function} as {who}"
        self._function, self._aws = function, aws
        self._identity, self._claim, self._as_owner = identity, claim, as_owner
        self._api_id = api_id or "unknown-public-api"

    def _caller(self, body: bytes) -> str:
        if self._as_owner:
            try:
                owner = json.loads(body).get("user_id")
            except (ValueError, AttributeError):
                owner = None
            if isinstance(owner, str) and owner:
                return owner
        return self._identity or "anonymous"

    def _invoke(self, body: bytes, request_id: str) -> tuple[dict[str, Any], bytes]:
        from query_migrate._aws import aws_errors

        event = rest_proxy_event(
            RESULT_PATH,
            body={},
            caller=self._caller(body),
            claim=self._claim,
            request_id=request_id,
            api_id=self._api_id,
            stage="shadow",
            user_agent="query-migrate-shadow",
        )
        event["body"] = body.decode("utf-8", "replace")  # the body as the other side gets it
        with aws_errors(f"Invoke {self._function}"):
            response = self._aws.lambda_.invoke(
                FunctionName=self._function, Payload=json.dumps(event).encode()
            )
            payload = response["Payload"].read()
        return dict(response), payload

    async def send(self, body: bytes, request_id: str) -> Answer:
        started = time.perf_counter()
        try:
            response, payload = await asyncio.to_thread(self._invoke, body, request_id)
        except MigrateError as exc:
            return Answer(None, {}, b"", (time.perf_counter() - started) * 1000, error=str(exc))
        return envelope_answer(response, payload, (time.perf_counter() - started) * 1000)

    async def aclose(self) -> None:
        return None
