"""Settings read from the environment, for the Lambdas, without pydantic-settings.

pydantic-settings imports asyncio, argparse and python-dotenv when it loads: about
27 ms of every cold start (measured by ``python -X importtime``), a tenth of the
handler's whole budget. A Lambda's settings are plain environment variables, so a
pydantic model filled from ``os.environ`` gives the same validation for free.
See docs/decisions/ for the comparison.
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
