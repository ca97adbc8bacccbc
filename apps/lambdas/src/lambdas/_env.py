"""Settings read from the environment, for the Lambdas: a pydantic model filled from
``os.environ``, not pydantic-settings, for the cold start
(docs/decisions/0002-lambda-settings-without-pydantic-settings.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, ValidationError

from lambdas._startup import SettingsError

__all__ = ["EnvSettings", "SettingsError"]


class EnvSettings(BaseModel):
    """A settings model whose fields are environment variables (name upper-cased)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Validate the fields from the environment; empty variables count as unset.

        Raises ``SettingsError`` with one line naming each wrong variable.
        """
        environ = os.environ if environ is None else environ
        values = {
            name: environ[name.upper()]
            for name in cls.model_fields
            if environ.get(name.upper(), "") != ""
        }
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise SettingsError(_one_line(exc)) from None


def _one_line(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        message = error["msg"].removeprefix("Value error, ")
        names = ".".join(str(part) for part in error["loc"]).upper()
        problems.append(f"{names}: {message}" if names else message)
    return "; ".join(problems)
