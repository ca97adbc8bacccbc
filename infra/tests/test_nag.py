"""The table of accepted cdk-nag findings: each row well formed, each function applying
exactly its rows, and every kind used by the app (cdk-nag itself, in the whole-app fixtures,
fails the synth on a finding no row accepts)."""

from __future__ import annotations

import re
from typing import Any, get_args

import pytest
from aws_cdk import Stack
from constructs import Construct, IConstruct
from query_infra import nag
from query_infra.config import PublicAuth

#: The node metadata entry `Validations.of(c).acknowledge(...)` writes: {validation id: reason}.
ACKNOWLEDGED_RULES = "aws:cdk:acknowledged-rules"
#: The construct functions: every kind except the per-auth rows and the provider's.
FUNCTIONS = [
    kind
    for kind in nag.ACCEPTED
    if "/" not in kind and kind not in {"public_api", "prefix_list_provider"}
]


def _acknowledged(construct: IConstruct) -> dict[str, str]:
    """cdk-nag's AwsSolutions findings acknowledged on ``construct`` (CDK acknowledges some
    of its own validators' too)."""
    found: dict[str, str] = {}
    for entry in construct.node.metadata:
        if entry.type == ACKNOWLEDGED_RULES:
            found.update(entry.data)
    return {rule: reason for rule, reason in found.items() if rule.startswith("AwsSolutions::")}


def _rows(*kinds: str) -> dict[str, str]:
    return {row.validation_id: row.reason for kind in kinds for row in nag.ACCEPTED[kind]}


def test_every_row_names_a_rule_once_and_gives_a_reason():
    assert len(nag.ACCEPTED) >= 10
    for kind, rows in nag.ACCEPTED.items():
        ids = [row.rule_id for row in rows]
        assert len(ids) == len(set(ids)), kind
        for row in rows:
            assert re.fullmatch(r"[A-Z]+[0-9]+", row.rule), (kind, row)
            finding = r"|Resource::\*|Policy::arn:\S+|Resource::<[A-Za-z0-9]+\.Arn>:\*"
            assert re.fullmatch(finding, row.finding), (kind, row)
            assert len(row.reason) >= 40, (kind, row.rule_id)


def test_rule_ids_are_cdk_nags():
    row = nag.Accepted("IAM5", "a reason", "Resource::*")
    assert row.rule_id == "IAM5[Resource::*]"
    assert row.validation_id == "AwsSolutions::AwsSolutions-IAM5[Resource::*]"
    assert nag.Accepted("L1", "a reason").validation_id == "AwsSolutions::AwsSolutions-L1"


@pytest.mark.parametrize("kind", FUNCTIONS)
def test_each_function_acknowledges_its_rows_and_nothing_else(kind, bare_stack):
    construct = Construct(bare_stack(), "Thing")
    getattr(nag, kind)(construct)
    assert _acknowledged(construct) == _rows(kind)


@pytest.mark.parametrize("auth", get_args(PublicAuth.__value__))
def test_the_public_api_acknowledges_the_rows_of_its_auth(auth, bare_stack):
    api = Construct(bare_stack(), "Api")
    nag.public_api(api, auth)
    assert _acknowledged(api) == _rows("public_api", f"public_api/{auth}")


def test_the_prefix_list_lookup_also_covers_cdks_provider_when_there_is_one(bare_stack):
    alone = Construct(bare_stack(), "Lookup")
    nag.prefix_list_lookup(alone)
    assert _acknowledged(alone) == _rows("prefix_list_lookup")

    stack: Stack = bare_stack()
    lookup = Construct(stack, "Lookup")
    provider = Construct(stack, "AWS679f53fac002430cb0da5b7982bd2287")  # AwsCustomResource's
    nag.prefix_list_lookup(lookup)
    assert _acknowledged(provider) == _rows("prefix_list_provider")


def _kinds_used(synth: Any) -> set[str]:
    """The kinds of the table whose rows are acknowledged on the same construct somewhere."""
    acknowledged = [_acknowledged(c) for c in synth.stack.node.find_all()]
    return {
        kind
        for kind, rows in nag.ACCEPTED.items()
        if rows and any(_rows(kind).items() <= found.items() for found in acknowledged)
    }


def test_the_app_uses_every_kind_and_acknowledges_only_rows_of_the_table(
    fresh, existing, existing_api
):
    reasons = {(vid, reason) for kind in nag.ACCEPTED for vid, reason in _rows(kind).items()}
    used: set[str] = set()
    for synth in (fresh, existing, existing_api):
        for construct in synth.stack.node.find_all():
            assert set(_acknowledged(construct).items()) <= reasons, construct.node.path
        used |= _kinds_used(synth)
    assert set(FUNCTIONS) | {"public_api", "prefix_list_provider"} <= used
