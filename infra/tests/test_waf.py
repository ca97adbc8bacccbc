"""CallerRateLimit: per-caller rate-based rules on a REST API stage, answered 429."""

from __future__ import annotations

import json

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Match, Template
from query_infra.context import ContextError, read_context
from query_infra.waf import (
    EVALUATION_WINDOW_SECONDS,
    IP_LIMIT_FACTOR,
    RATE_LIMITED_DETAIL,
    RETRY_AFTER_SECONDS,
    CallerRateLimit,
    stage_arn,
)

STAGE = "arn:aws:apigateway:ap-northeast-1::/restapis/a1b2c3d4e5/stages/prod"


def _synth(bare_stack, **props) -> Template:
    stack = bare_stack(region="ap-northeast-1")
    CallerRateLimit(stack, "Limit", resource_arn=STAGE, name="query-public-test", **props)
    return Template.from_stack(stack)


def _rules(template: Template) -> list[dict]:
    (acl,) = template.find_resources("AWS::WAFv2::WebACL").values()
    return acl["Properties"]["Rules"]


def test_an_ip_keyed_rule_blocks_a_caller_past_its_limit_with_a_429(bare_stack):
    template = _synth(bare_stack, limit=500, key="ip")
    template.has_resource_properties(
        "AWS::WAFv2::WebACL",
        {
            "Scope": "REGIONAL",
            "DefaultAction": {"Allow": {}},
            "CustomResponseBodies": {
                "rate_limited": {
                    "ContentType": "APPLICATION_JSON",
                    "Content": json.dumps({"detail": RATE_LIMITED_DETAIL}),
                }
            },
        },
    )
    (rule,) = _rules(template)
    assert rule["Statement"]["RateBasedStatement"] == {
        "Limit": 500,
        "AggregateKeyType": "IP",
        "EvaluationWindowSec": EVALUATION_WINDOW_SECONDS,
    }
    assert rule["Action"]["Block"]["CustomResponse"] == {
        "ResponseCode": 429,
        "CustomResponseBodyKey": "rate_limited",
        "ResponseHeaders": [{"Name": "Retry-After", "Value": str(RETRY_AFTER_SECONDS)}],
    }
    template.has_resource_properties(
        "AWS::WAFv2::WebACLAssociation",
        {"ResourceArn": STAGE, "WebACLArn": {"Fn::GetAtt": [Match.any_value(), "Arn"]}},
    )


def test_a_header_keyed_rule_counts_each_identity_and_the_ip_rule_backs_it(bare_stack):
    rules = _rules(_synth(bare_stack, limit=300, key="header:Authorization"))
    assert [r["Name"] for r in rules] == [
        "query-public-test-per-caller",
        "query-public-test-per-ip",
    ]
    assert [r["Priority"] for r in rules] == [0, 1]
    per_caller = rules[0]["Statement"]["RateBasedStatement"]
    assert per_caller["AggregateKeyType"] == "CUSTOM_KEYS"
    assert per_caller["Limit"] == 300
    assert per_caller["CustomKeys"] == [
        {
            "Header": {
                "Name": "Authorization",
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
            }
        }
    ]
    assert rules[1]["Statement"]["RateBasedStatement"]["Limit"] == 300 * IP_LIMIT_FACTOR
    assert all(r["VisibilityConfig"]["CloudWatchMetricsEnabled"] for r in rules)


@pytest.mark.parametrize(
    ("props", "message"),
    [({"limit": 5, "key": "ip"}, "between 10"), ({"limit": 100, "key": "cookie"}, "'ip' or")],
)
def test_impossible_rules_are_refused(bare_stack, props, message):
    with pytest.raises(ValueError, match=message):
        _synth(bare_stack, **props)


def test_the_stage_arn_has_no_account(bare_stack):
    stack: Stack = bare_stack(region="ap-northeast-1")
    arn = stack.resolve(stage_arn(stack, "a1b2c3d4e5", "v1"))
    joined = "".join(p if isinstance(p, str) else "{partition}" for p in arn["Fn::Join"][1])
    assert joined == "arn:{partition}:apigateway:ap-northeast-1::/restapis/a1b2c3d4e5/stages/v1"


@pytest.mark.parametrize(
    ("context", "problem"),
    [
        ({"callerRateLimit": 5}, "callerRateLimit must be 0 (off) or at least 10, not 5"),
        ({"callerRateLimitKey": "cookie"}, "callerRateLimitKey must be 'ip' or 'header:<Name>'"),
    ],
)
def test_the_context_keys_are_checked(bare_stack, context, problem):
    stack = bare_stack()
    for key, value in context.items():
        stack.node.set_context(key, value)
    with pytest.raises(ContextError) as caught:
        read_context(stack)
    assert any(line.startswith(problem) for line in caught.value.problems), caught.value.problems


def test_the_context_keys_are_read(bare_stack):
    stack = bare_stack()
    stack.node.set_context("callerRateLimit", "0")
    stack.node.set_context("callerRateLimitKey", "header:X-Api-Key")
    config = read_context(stack)
    assert (config.caller_rate_limit, config.caller_rate_limit_key) == (0, "header:X-Api-Key")
