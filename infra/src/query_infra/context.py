"""Read the CDK context into a :class:`DeploymentConfig`, validating every key at synth.

Every mistake found is one line of :class:`ContextError`'s message, all of them at once, so
that a wrong context fails ``cdk synth`` in a second instead of a deploy twenty minutes in.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from constructs import Construct

from query_infra import rules
from query_infra.config import DEFAULT_PUBLIC_API_PATHS, DeploymentConfig

__all__ = ["ContextError", "read_context"]

T = TypeVar("T")


class ContextError(ValueError):
    """The context has mistakes; ``problems`` holds one line per mistake."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid CDK context:\n" + "\n".join(f"  - {p}" for p in problems))


class _Reader:
    """Typed access to the raw context; a wrong value is a problem and its default is used."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.problems: list[str] = []
        #: Keys whose value was wrong: rules between keys stay silent about them.
        self.invalid: set[str] = set()
        #: Every key read: the app's keys (docs/migration.md#context-keys), all in one place.
        self.keys: list[str] = []

    def wrong(self, key: str, problem: str) -> None:
        self.invalid.add(key)
        self.problems.append(problem)

    def given(self, key: str) -> bool:
        if key not in self.keys:
            self.keys.append(key)
        return self.raw.get(key) not in (None, "", [])

    def _parse(self, key: str, default: T, parse: Callable[[Any], T], expected: str) -> T:
        if not self.given(key):
            return default
        try:
            return parse(self.raw[key])
        except (TypeError, ValueError):
            self.wrong(key, f"{key} must be {expected}, not {self.raw[key]!r}")
            return default

    def text(self, key: str, default: str = "", pattern: str = "", expected: str = "") -> str:
        value = self._parse(key, default, str, "a string").strip()
        if value and pattern and not re.fullmatch(pattern, value):
            self.wrong(key, f"{key} must be {expected}, not {value!r}")
            return default
        return value

    def choice[C: str](self, key: str, default: C, choices: tuple[C, ...]) -> C:
        value = self.text(key)
        for choice in choices:
            if value == choice:
                return choice
        if value:
            quoted = [f"'{c}'" for c in choices]
            listed = ", ".join(quoted[:-1]) + f" or {quoted[-1]}"
            self.wrong(key, f"{key} must be {listed}, not {value!r}")
        return default

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self._parse(key, default, _int, "a whole number")
        if self.given(key) and not low <= value <= high:
            self.wrong(key, f"{key} must be between {low} and {high}, not {value}")
            return default
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self._parse(key, default, float, "a number")
        if self.given(key) and not low < value <= high:
            self.wrong(key, f"{key} must be above {low} and at most {high}, not {value}")
            return default
        return value

    def flag(self, key: str, default: bool) -> bool:
        return self._parse(key, default, _bool, "true or false")

    def items(self, key: str, pattern: str = "", expected: str = "") -> tuple[str, ...]:
        empty: tuple[str, ...] = ()
        values = self._parse(key, empty, _list, 'a list (JSON, e.g. ["a", "b"], or "a,b")')
        bad = [v for v in values if pattern and not re.fullmatch(pattern, v)]
        if bad:
            self.wrong(key, f"{key}: each item must be {expected}; wrong: {', '.join(bad)}")
            return ()
        return values

    def cidrs(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        values = self.items(key) if self.given(key) else default
        for value in values:
            problem = rules.cidr_problem(value)
            if problem:
                self.wrong(key, f"{key}: {problem}")
        return values


def _int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(value)
    return int(value)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(value)


def _list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            value = json.loads(text)
        else:
            return tuple(part.strip() for part in text.split(",") if part.strip())
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise ValueError(value)
    return tuple(str(v).strip() for v in value)


def _unknown_keys(raw: dict[str, Any], keys: list[str]) -> list[str]:
    """A camelCase key the app does not read is most likely a typo of one it does."""
    problems = []
    for key in raw:
        if re.fullmatch(r"[a-z][A-Za-z0-9]*", key) and key not in keys:
            close = difflib.get_close_matches(key, keys, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{key} is not a context key of this app{hint}")
    return problems


def read_context(scope: Construct, **paths: Any) -> DeploymentConfig:
    """The deployment config from ``scope``'s context; raises :class:`ContextError`.

    ``paths`` may override ``lambda_package`` and ``image_context`` (tests).
    """
    raw = dict(scope.node.get_all_context())
    read = _Reader(raw)
    p = rules.PATTERNS
    vpc_id = read.text("vpcId", pattern=p["vpc"], expected="a VPC id (vpc-…)")
    public_api_id = read.text("existingPublicApiId", pattern=p["api"], expected=rules.API_ID)
    vpc_cidr = read.cidrs("vpcCidr", ("10.40.0.0/16",))
    config = DeploymentConfig(
        environment=read.text("environment", "dev", p["environment"], rules.ENVIRONMENT),
        account=read.text("account", pattern=r"\d{12}", expected="12 digits"),
        region=read.text("region", pattern=p["region"], expected="a region, e.g. eu-west-1"),
        vpc_id=vpc_id,
        private_subnet_ids=read.items("privateSubnetIds", p["subnet"], "a subnet id (subnet-…)"),
        private_route_table_ids=read.items(
            "privateRouteTableIds", p["route_table"], "a route table id (rtb-…)"
        ),
        availability_zones=read.items("availabilityZones", p["az"], "a zone, e.g. eu-west-1a"),
        vpc_cidr=vpc_cidr[0] if vpc_cidr else "10.40.0.0/16",
        vpc_secondary_cidrs=vpc_cidr[1:],
        existing_vpc_endpoints=frozenset(read.items("existingVpcEndpoints")),
        existing_endpoint_peers=read.items(
            "existingEndpointPeers",
            p["endpoint_peer"],
            "a security group (sg-…) or prefix list (pl-…)",
        ),
        execute_api_private_dns=read.flag("executeApiPrivateDns", not vpc_id),
        endpoint_ingress_cidrs=read.cidrs("endpointIngressCidrs"),
        existing_table_name=read.text(
            "existingTableName", pattern=p["table"], expected="a DynamoDB table name"
        ),
        traffic_target=read.choice("trafficTarget", "ecs", ("ecs", "eks")),
        old_eks_handler_url=read.text(
            "oldEksHandlerUrl", pattern=p["url"], expected="an http(s):// URL without a path"
        ),
        old_eks_handler_peer=read.text("oldEksHandlerPeer", pattern=p["peer"], expected=rules.PEER),
        old_eks_handler_port=read.integer("oldEksHandlerPort", 0, 1, 65535),
        existing_public_api_id=public_api_id,
        existing_public_api_stage=read.text(
            "existingPublicApiStage", "prod", p["stage"], "a stage name ([A-Za-z0-9_-])"
        ),
        existing_public_api_paths=read.items(
            "existingPublicApiPaths", p["path"], "a resource path, e.g. /query/result"
        )
        or DEFAULT_PUBLIC_API_PATHS,
        public_auth=read.choice("publicAuth", "iam", ("iam", "cognito", "lambda", "none")),
        cognito_user_pool_arn=read.text(
            "cognitoUserPoolArn", pattern=p["user_pool"], expected="a Cognito user pool ARN"
        ),
        authorizer_function_arn=read.text(
            "authorizerFunctionArn", pattern=p["function"], expected="a Lambda function ARN"
        ),
        owner_claim=read.text("ownerClaim", pattern=p["claim"], expected=rules.CLAIM),
        owner_check_disabled=not read.flag("ownerCheck", True),
        caller_proof_required=read.flag("callerProofRequired", True),
        canary_test_user_id=read.text(
            "canaryTestUserId", pattern=p["user"], expected="a user_id whose results exist"
        ),
        caller_rate_limit=read.integer("callerRateLimit", 1000, 0, 2_000_000_000),
        caller_rate_limit_key=read.text(
            "callerRateLimitKey", "ip", r"ip|header:[A-Za-z0-9-]{1,64}", "'ip' or 'header:<Name>'"
        ),
        throttle_rate_limit=read.number("throttleRateLimit", 50.0, 0, 10_000),
        throttle_burst_limit=read.integer("throttleBurstLimit", 100, 1, 5_000),
        reserved_concurrency=read.integer("reservedConcurrency", 50, 1, 1_000),
        alb_certificate_arn=read.text(
            "albCertificateArn", pattern=p["certificate"], expected="an ACM certificate ARN"
        ),
        alb_host_name=read.text("albHostName", pattern=p["host"], expected=rules.HOST),
        alb_hosted_zone_id=read.text(
            "albHostedZoneId", pattern=p["zone"], expected="a hosted zone id (Z…)"
        ),
        image_tag=read.text("imageTag", pattern=p["tag"], expected="an image tag"),
        image_build=read.choice("imageBuild", "codebuild", ("codebuild", "local-docker")),
        task_cpu=read.integer("taskCpu", 512, 256, 16384),
        task_memory_mib=read.integer("taskMemoryMiB", 1024, 512, 122880),
        desired_count=read.integer("desiredCount", 2, 1, 100),
        max_count=read.integer("maxCount", 6, 1, 100),
        enable_lambda_rollback_source=read.flag("enableLambdaRollbackSource", False),
        result_source=read.choice("resultSource", "internal_api", ("internal_api", "lambda")),
        **paths,
    )
    # A rule between keys about a key already reported wrong would only repeat the mistake.
    between = [
        line
        for line in rules.consistency(config, read.given)
        if not any(re.search(rf"\b{key}\b", line) for key in read.invalid)
    ]
    problems = read.problems + _unknown_keys(raw, read.keys) + between
    if problems:
        raise ContextError(problems)
    return config
