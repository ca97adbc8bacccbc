"""Per-caller limits at the public edge: an AWS WAF web ACL with rate-based rules, associated
with a REST API stage (the created API's, or the existing API's named by the context).

API Gateway's stage throttling is one bucket for everyone: one caller can spend it all. A
rate-based rule counts each caller's requests over a sliding window and blocks a caller past
its limit, answering 429 with ``Retry-After`` and the contract's ``{"detail": ...}``
(docs/contract.md#fair-share), while every other caller goes on. A caller is its identity
header (``callerRateLimitKey=header:Authorization``: the token, hence the user) or its IP.
WAF does not count a request without the header in a header-keyed rule, so a second rule
keyed on the IP, at ``IP_LIMIT_FACTOR`` times the limit, covers those (and a NAT's users).
"""

from __future__ import annotations

import json
from typing import Final

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

__all__ = [
    "EVALUATION_WINDOW_SECONDS",
    "IP_LIMIT_FACTOR",
    "RATE_LIMITED_DETAIL",
    "RETRY_AFTER_SECONDS",
    "CallerRateLimit",
    "stage_arn",
]

#: The window over which a caller's requests are counted (WAF takes 60, 120, 300 or 600).
EVALUATION_WINDOW_SECONDS: Final = 300
#: The IP rule's limit, as a multiple of the per-caller limit (header-keyed mode).
IP_LIMIT_FACTOR: Final = 10
#: What a blocked caller is told to wait: WAF re-evaluates rate-based rules about every 10 s.
RETRY_AFTER_SECONDS: Final = 30
#: The 429's detail; query_core's TooManyRequestsError lists it (a test reads both).
RATE_LIMITED_DETAIL: Final = "too many requests from this caller; retry later"
_BODY_KEY: Final = "rate_limited"


def stage_arn(stack: Stack, api_id: str, stage: str) -> str:
    """The ARN WAF associates a web ACL with: ``arn:<partition>:apigateway:<region>::
    /restapis/<id>/stages/<stage>`` (no account)."""
    return stack.format_arn(
        service="apigateway",
        account="",
        resource="/restapis",
        resource_name=f"{api_id}/stages/{stage}",
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


class CallerRateLimit(Construct):
    """A REGIONAL web ACL allowing by default, its rate-based rules, and the association with
    ``resource_arn`` (a REST API stage). ``key`` is ``"ip"`` or ``"header:<Name>"``.

    Attributes: ``web_acl``, ``association``, ``rule_names`` (the CloudWatch metric name of
    each rule, whose ``BlockedRequests`` count the callers stopped).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_arn: str,
        limit: int,
        key: str,
        name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 10 <= limit <= 2_000_000_000:
            raise ValueError(f"a WAF rate limit is between 10 and 2,000,000,000, not {limit}")
        header = key.removeprefix("header:") if key.startswith("header:") else None
        if header is None and key != "ip":
            raise ValueError(f"the rate limit key is 'ip' or 'header:<Name>', not {key!r}")
        rules: list[tuple[str, int, wafv2.CfnWebACL.RateBasedStatementProperty]] = []
        if header is not None:
            rules.append((f"{name}-per-caller", limit, _by_header(header, limit)))
            rules.append(
                (f"{name}-per-ip", limit * IP_LIMIT_FACTOR, _by_ip(limit * IP_LIMIT_FACTOR))
            )
        else:
            rules.append((f"{name}-per-ip", limit, _by_ip(limit)))
        self.rule_names = [rule_name for rule_name, _, _ in rules]
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            scope="REGIONAL",
            # WAF's description pattern: letters, digits, spaces and =:#@/-,. only.
            description=f"Per-caller rate limits of the public API: by {key}, {limit} per "
            f"{EVALUATION_WINDOW_SECONDS} s",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(name),
            custom_response_bodies={
                _BODY_KEY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON",
                    content=json.dumps({"detail": RATE_LIMITED_DETAIL}),
                )
            },
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name=rule_name,
                    priority=priority,
                    statement=wafv2.CfnWebACL.StatementProperty(rate_based_statement=statement),
                    action=wafv2.CfnWebACL.RuleActionProperty(block=_too_many_requests()),
                    visibility_config=_visibility(rule_name),
                )
                for priority, (rule_name, _, statement) in enumerate(rules)
            ],
        )
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=resource_arn, web_acl_arn=self.web_acl.attr_arn
        )


def _by_ip(limit: int) -> wafv2.CfnWebACL.RateBasedStatementProperty:
    return wafv2.CfnWebACL.RateBasedStatementProperty(
        limit=limit, aggregate_key_type="IP", evaluation_window_sec=EVALUATION_WINDOW_SECONDS
    )


def _by_header(header: str, limit: int) -> wafv2.CfnWebACL.RateBasedStatementProperty:
    return wafv2.CfnWebACL.RateBasedStatementProperty(
        limit=limit,
        aggregate_key_type="CUSTOM_KEYS",
        evaluation_window_sec=EVALUATION_WINDOW_SECONDS,
        custom_keys=[
            wafv2.CfnWebACL.RateBasedStatementCustomKeyProperty(
                header=wafv2.CfnWebACL.RateLimitHeaderProperty(
                    name=header,
                    text_transformations=[
                        wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                    ],
                )
            )
        ],
    )


def _too_many_requests() -> wafv2.CfnWebACL.BlockActionProperty:
    return wafv2.CfnWebACL.BlockActionProperty(
        custom_response=wafv2.CfnWebACL.CustomResponseProperty(
            response_code=429,
            custom_response_body_key=_BODY_KEY,
            response_headers=[
                wafv2.CfnWebACL.CustomHTTPHeaderProperty(
                    name="Retry-After", value=str(RETRY_AFTER_SECONDS)
                )
            ],
        )
    )


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True,
        metric_name=metric_name,
        sampled_requests_enabled=True,
    )
