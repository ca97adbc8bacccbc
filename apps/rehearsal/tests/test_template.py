"""The template's intrinsic functions as the deploy evaluates and rewrites them."""

from __future__ import annotations

import pytest
from rehearsal.template import TemplateError, Values, dependencies, evaluate, rewrite


def _values() -> Values:
    values = Values({"AWS::Region": "us-east-1", "AWS::URLSuffix": "amazonaws.com"})
    values.refs["Repo"] = "query-images"
    values.attributes[("Repo", "Arn")] = "arn:aws:ecr:us-east-1:123456789012:repository/q"
    return values


def test_the_cdk_functions_are_evaluated() -> None:
    uri = {
        "Fn::Join": ["", [
            {"Fn::Select": [4, {"Fn::Split": [":", {"Fn::GetAtt": ["Repo", "Arn"]}]}]},
            ".dkr.ecr.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}, "/",
            {"Ref": "Repo"},
        ]]
    }  # fmt: skip
    assert evaluate(uri, _values()) == "123456789012.dkr.ecr.us-east-1.amazonaws.com/query-images"
    sub = {"Fn::Sub": ["${Repo}:${Tag} in ${AWS::Region} (${Repo.Arn})", {"Tag": "ctx-1"}]}
    assert evaluate(sub, _values()) == (
        "query-images:ctx-1 in us-east-1 (arn:aws:ecr:us-east-1:123456789012:repository/q)"
    )
    assert dependencies(uri) == {"Repo", "AWS::Region", "AWS::URLSuffix"}


def test_what_is_not_created_or_not_known_is_named() -> None:
    with pytest.raises(TemplateError, match="Ref Missing: not created"):
        evaluate({"Ref": "Missing"}, _values())
    with pytest.raises(TemplateError, match="Fn::If: not an intrinsic function this deploy"):
        evaluate({"Fn::If": ["c", 1, 2]}, _values())


def test_rewrite_replaces_only_the_other_part() -> None:
    node = {
        "A": {"Ref": "Repo"},
        "B": {"Ref": "Here"},
        "C": {"Fn::Sub": "${Repo}/${Here.Arn}"},
    }
    rewritten = rewrite(node, lambda name: name == "Repo", _values())
    assert rewritten == {
        "A": "query-images",
        "B": {"Ref": "Here"},
        "C": {"Fn::Sub": "query-images/${Here.Arn}"},
    }
