"""What a command knows about the deployment: the stack's outputs and the CDK context.

Every value a command needs is a stack output (``--stack NAME``, read with CloudFormation's
``DescribeStacks``) that an option of its own overrides, so a command also runs before the
stack exists, or against a hand-built environment, with each URL/ARN given as an option.
The CDK context (the keys the CDK app validates, see ``docs/runbook.md``) is read from a
``cdk.json``/``cdk.context.json``-like file and ``-c key=value`` options, as ``cdk`` does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from query_migrate._aws import Aws, aws_errors
from query_migrate._errors import AwsError, MigrateError, MissingInputError
from query_migrate._names import DEFAULT_PUBLIC_API_PATHS as DEFAULT_PATHS
from query_migrate._names import STACK_OUTPUTS

__all__ = [
    "OUTPUT_OPTIONS",
    "Context",
    "ExistingApi",
    "Outputs",
    "parse_context",
]

#: Stack output (CfnOutput id) -> the option that gives the same value by hand.
OUTPUT_OPTIONS: Mapping[str, str] = {
    name: option for name, (option, _) in STACK_OUTPUTS.items() if option is not None
}


@dataclass
class Outputs:
    """The stack's outputs, overridden by the options given on the command line."""

    stack: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    #: False when ``stack`` does not exist (yet): the phase "no stack", not an error.
    exists: bool = True

    @classmethod
    def load(
        cls, aws: Aws | None, stack: str | None, overrides: Mapping[str, str | None]
    ) -> Outputs:
        values: dict[str, str] = {}
        exists = True
        if stack:
            if aws is None:  # pragma: no cover - the CLI always passes one with a stack
                raise MigrateError("--stack needs AWS access")
            try:
                with aws_errors(f"DescribeStacks {stack}"):
                    stacks = aws.cloudformation.describe_stacks(StackName=stack)["Stacks"]
                found = stacks[0].get("Outputs", [])
            except AwsError as exc:
                # Before the first deploy: the phase "no stack", not a failure of the command.
                if exc.code != "ValidationError" or "does not exist" not in str(exc):
                    raise
                found, exists = [], False
            for output in found:
                if "OutputKey" in output and "OutputValue" in output:
                    values[output["OutputKey"]] = output["OutputValue"]
        values.update({name: value for name, value in overrides.items() if value})
        return cls(stack=stack, values=values, exists=exists)

    def get(self, name: str) -> str | None:
        """The output ``name``; a name missing from ``STACK_OUTPUTS`` is a bug (KeyError), so
        that renaming an output in the table fails every test that reads it by its old name."""
        if name not in STACK_OUTPUTS:
            raise KeyError(f"{name} is not a stack output of _names.STACK_OUTPUTS")
        return self.values.get(name)

    def require(self, name: str) -> str:
        value = self.get(name)
        if value:
            return value
        option = OUTPUT_OPTIONS.get(name, name)
        where = f"stack {self.stack} has no output {name}" if self.stack else "no --stack given"
        if self.stack and not self.exists:
            where = f"stack {self.stack} does not exist in this region: not deployed yet?"
        raise MissingInputError(f"{option} is needed ({where})")

    def mapping(self, name: str) -> dict[str, str]:
        """An output of ``key=value`` pairs, comma-separated (``LogGroupNames``)."""
        pairs: dict[str, str] = {}
        for part in (self.get(name) or "").split(","):
            key, sep, value = part.strip().partition("=")
            if sep and key and value:
                pairs[key.strip()] = value.strip()
        return pairs

    def listing(self, name: str) -> list[str]:
        """A comma-separated output (``AlarmNames``)."""
        return [part.strip() for part in (self.get(name) or "").split(",") if part.strip()]


def parse_context(file: Path | None, pairs: tuple[str, ...]) -> Context:
    """The CDK context from a JSON file (its ``context`` object, if any) and ``key=value`` pairs.

    A value is read as JSON when it parses (``["ecr.api"]``, ``true``, ``8080``), else as a
    string, so ``-c executeApiPrivateDns=false`` and ``-c vpcId=vpc-1`` both mean what they say.
    """
    values: dict[str, Any] = {}
    if file is not None:
        try:
            loaded = json.loads(file.read_text())
        except (OSError, ValueError) as exc:
            raise MigrateError(f"--context-file {file}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise MigrateError(f"--context-file {file}: not a JSON object")
        inner = loaded.get("context", loaded)
        if not isinstance(inner, dict):
            raise MigrateError(f"--context-file {file}: 'context' is not a JSON object")
        values.update(inner)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise MigrateError(f"-c {pair!r}: expected key=value")
        try:
            values[key] = json.loads(raw)
        except ValueError:
            values[key] = raw
    return Context(values)


@dataclass(frozen=True)
class ExistingApi:
    """The running account's public REST API (``existingPublicApiId`` mode)."""

    api_id: str
    stage: str
    paths: tuple[str, ...]


@dataclass
class Context:
    """The CDK context keys a command reads (``docs/runbook.md`` lists them)."""

    values: dict[str, Any] = field(default_factory=dict)

    def string(self, key: str) -> str | None:
        value = self.values.get(key)
        if value is None or value == "":
            return None
        return str(value)

    def strings(self, key: str, default: tuple[str, ...] = ()) -> list[str]:
        value = self.values.get(key)
        if value is None:
            return list(default)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = [part for part in value.split(",") if part]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise MigrateError(f"context {key}: expected a list of strings, got {value!r}")
        return list(value)

    def flag(self, key: str) -> bool | None:
        value = self.values.get(key)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        if str(value).lower() in {"true", "1", "yes"}:
            return True
        if str(value).lower() in {"false", "0", "no"}:
            return False
        raise MigrateError(f"context {key}: expected true or false, got {value!r}")

    def existing_api(
        self, api_id: str | None = None, stage: str | None = None, paths: Sequence[str] = ()
    ) -> ExistingApi | None:
        """The existing public API: each value given, else the context's, else the default."""
        api_id = api_id or self.string("existingPublicApiId")
        if not api_id:
            return None
        return ExistingApi(
            api_id=api_id,
            stage=stage or self.string("existingPublicApiStage") or "prod",
            paths=tuple(paths) or tuple(self.strings("existingPublicApiPaths", DEFAULT_PATHS)),
        )

    def integer(self, key: str) -> int | None:
        value = self.values.get(key)
        if value is None:
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise MigrateError(f"context {key}: expected an integer, got {value!r}") from None
