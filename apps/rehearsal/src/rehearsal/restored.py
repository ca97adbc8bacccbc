"""The rehearsal's own check of every ``detach`` (docs/decisions/0015-runbook-rehearsal.md): the
integrations it puts back are the account's as they were before the first block.

``detach`` reads back what it wrote and compares it with its record, so it exits 0 whenever
the record was followed; a record that says the wrong thing (edited, or written wrong by
``attach``) would restore the wrong integration with exit 0. The rehearsal knows what the
account had: it reads every method's integration of the public API before the first block
(``Integrations.before``), and after each ``detach`` that exits 0 (not a ``--dry-run``)
compares every method that no longer invokes the stack's alias with it, field by field. A
difference fails that block, naming the method and the field.
"""

from __future__ import annotations

from typing import Any

from rehearsal.runbook import Block

__all__ = ["FIELDS", "Integrations"]

#: An integration's fields ``attach`` records and ``detach`` restores (``PutIntegration``'s).
FIELDS = (
    "type",
    "httpMethod",
    "uri",
    "requestParameters",
    "requestTemplates",
    "passthroughBehavior",
    "contentHandling",
    "timeoutInMillis",
    "cacheKeyParameters",
    "cacheNamespace",
    "connectionType",
    "connectionId",
    "credentials",
)


class Integrations:
    """The public API's integrations, read through ``apigateway`` (moto's client)."""

    def __init__(self, apigateway: Any, api_id: str) -> None:
        self._apigw = apigateway
        self._api_id = api_id
        self.before = self.read()

    def read(self) -> dict[str, dict[str, Any]]:
        """Every method's integration: ``"POST /query/result"`` -> its :data:`FIELDS`."""
        found: dict[str, dict[str, Any]] = {}
        resources = self._apigw.get_resources(restApiId=self._api_id, limit=500)["items"]
        for resource in resources:
            for verb in resource.get("resourceMethods") or {}:
                integration = self._apigw.get_integration(
                    restApiId=self._api_id, resourceId=resource["id"], httpMethod=verb
                )
                kept = {
                    k: integration[k] for k in FIELDS if integration.get(k) not in (None, [], {})
                }
                found[f"{verb} {resource['path']}"] = kept
        return found

    def after(self, block: Block, exit_code: int | None) -> str:
        """After ``block``: for a ``detach`` that exited 0, each method put back (not invoking
        the alias ``live``) that differs from :attr:`before`, in one line; else ``""``."""
        detached = any(
            line.strip().startswith("query-migrate detach ") and "--dry-run" not in line
            for line in block.command.splitlines()  # a block may hold the dry run and the run
        )
        if exit_code != 0 or not detached:
            return ""
        wrong = [
            f"{method}: {key} {now.get(key)!r}, the account had {was.get(key)!r}"
            for method, now in self.read().items()
            # still attached (another record's: attach's, while retire's is detached first)
            if ":live/invocations" not in str(now.get("uri", ""))
            for was in [self.before.get(method, {})]
            for key in sorted({*now, *was})
            if now.get(key) != was.get(key)
        ]
        if not wrong:
            return ""
        return "exited 0, but did not restore the account's integrations: " + "; ".join(wrong)
