"""The hook's settings, from the environment, checked once with one clear line per mistake."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Final

from lambdas._startup import SettingsError

__all__ = ["CanaryCheckSettings", "get_settings"]

_VERSION_ARN: Final = re.compile(r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[\w-]+:\d+")
_NAME: Final = re.compile(r"[A-Za-z0-9_:.@\-]{1,128}")


@dataclass(frozen=True, slots=True)
class CanaryCheckSettings:
    """Environment variables of the hook."""

    target_version_arn: str = field(
        metadata={"description": "The Query Lambda version being deployed (its qualified ARN)."}
    )
    test_user_id: str = field(
        metadata={
            "description": "The test identity: a user_id whose results exist, sent as the "
            "authorizer's claim too (context `canaryTestUserId`)."
        }
    )
    owner_claim: str = field(
        default="sub",
        metadata={"description": "The claim the Query Lambda reads the caller from (its own)."},
    )
    expect_marketing_gone: bool = field(
        default=False,
        metadata={
            "description": "`true` when the version targets the service: `/query/marketing` "
            "must answer the contract's 410."
        },
    )
    public_api_id: str = field(
        default="canary-check",
        metadata={"description": "The public API's id, in the test event's `apiId`."},
    )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> CanaryCheckSettings:
        """Read and check the variables; ``SettingsError`` names the first bad one."""
        env = os.environ if environ is None else environ
        arn = env.get("TARGET_VERSION_ARN", "")
        if not _VERSION_ARN.fullmatch(arn):
            raise SettingsError(f"TARGET_VERSION_ARN must be a Lambda version's ARN, not {arn!r}")
        user = env.get("TEST_USER_ID", "")
        if not _NAME.fullmatch(user):
            raise SettingsError(f"TEST_USER_ID must name the test user, not {user!r}")
        claim = env.get("OWNER_CLAIM") or "sub"
        if not _NAME.fullmatch(claim):
            raise SettingsError(f"OWNER_CLAIM must be a claim name such as 'sub', not {claim!r}")
        gone = env.get("EXPECT_MARKETING_GONE", "false").lower()
        if gone not in ("true", "false"):
            raise SettingsError(f"EXPECT_MARKETING_GONE must be true or false, not {gone!r}")
        return cls(
            target_version_arn=arn,
            test_user_id=user,
            owner_claim=claim,
            expect_marketing_gone=gone == "true",
            public_api_id=env.get("PUBLIC_API_ID") or "canary-check",
        )


@cache
def get_settings() -> CanaryCheckSettings:
    """The settings, read once per container."""
    return CanaryCheckSettings.from_environ()
