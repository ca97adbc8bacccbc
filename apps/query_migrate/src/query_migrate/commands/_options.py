"""Options declared once, as typed fields, and handed to a command as one object.

A command's options are a frozen dataclass whose fields carry their click declaration
(:func:`option`, :func:`argument`); :func:`command` turns a function taking that object into a
``click.Command``. The options every AWS command shares (:class:`AwsOptions`, and
:class:`ContextOptions` for the commands that read the CDK context) are base classes, and the
stack outputs a command reads are named once, in its :func:`command` call.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any

import click

from query_migrate._aws import Aws
from query_migrate._errors import MigrateError
from query_migrate._inputs import OUTPUT_OPTIONS, Context, Outputs, parse_context
from query_migrate._names import STACK_OUTPUTS

__all__ = [
    "TIMEOUT",
    "AwsOptions",
    "ContextOptions",
    "Inputs",
    "argument",
    "command",
    "context_region",
    "option",
]


def option(*decls: str, **attrs: Any) -> dict[str, Any]:
    """A field's metadata declaring it a click option (the field's name is the parameter's):
    ``name: T = field(metadata=option("--name", help=...))``."""
    return {"param": click.Option, "decls": decls, "attrs": attrs}


def argument(**attrs: Any) -> dict[str, Any]:
    """A field's metadata declaring it a click argument (its metavar is the field's name)."""
    return {"param": click.Argument, "decls": (), "attrs": attrs}


#: ``--timeout``, of the commands that make HTTP requests.
TIMEOUT = option(
    "--timeout",
    type=click.FloatRange(0.1),
    default=10.0,
    show_default=True,
    help="seconds per HTTP request",
)


@dataclass(frozen=True, kw_only=True)
class AwsOptions:
    """AWS access, where the stack's outputs come from, and the output format."""

    stack: str | None = field(
        metadata=option("--stack", metavar="NAME", help="read URLs/ARNs from this stack's outputs")
    )
    region: str | None = field(
        metadata=option(
            "--region",
            metavar="REGION",
            help="AWS region (default: the context's region, else AWS_REGION)",
        )
    )
    profile: str | None = field(
        metadata=option("--profile", metavar="NAME", help="AWS profile (default: AWS_PROFILE)")
    )
    endpoint_url: str | None = field(
        metadata=option(
            "--endpoint-url",
            metavar="URL",
            help="send every AWS call here (an emulator); default: AWS's endpoints",
        )
    )
    as_json: bool = field(metadata=option("--json", is_flag=True, help="print JSON for a pipeline"))
    #: The stack outputs given as options (``--table``, …): the command's ``outputs=``.
    given_outputs: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ContextOptions(AwsOptions):
    """… and the CDK context, as ``cdk`` reads it."""

    context_file: Path | None = field(
        metadata=option(
            "--context-file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="the CDK context as JSON (cdk.json, cdk.context.json)",
        )
    )
    context_pairs: tuple[str, ...] = field(
        metadata=option(
            "-c",
            "--context",
            multiple=True,
            metavar="KEY=VALUE",
            help="a CDK context key, as for cdk deploy -c (repeatable)",
        )
    )


@dataclass(frozen=True)
class Inputs:
    """What a command reads its values from: AWS, the stack's outputs, the CDK context."""

    aws: Aws
    outputs: Outputs
    context: Context

    @classmethod
    def load(cls, options: AwsOptions) -> Inputs:
        context = Context()
        if isinstance(options, ContextOptions):
            context = parse_context(options.context_file, options.context_pairs)
        region = context_region(options.region, context)
        aws = Aws(region=region, profile=options.profile, endpoint_url=options.endpoint_url)
        return cls(aws, Outputs.load(aws, options.stack, options.given_outputs), context)


def context_region(given: str | None, context: Context) -> str | None:
    """``--region``, else the context's ``region`` (the account the context describes), else
    None (then AWS_REGION); refuses a ``--region`` that contradicts the context."""
    written = context.string("region")
    if given and written and given != written:
        raise MigrateError(f"--region {given}, but the context's region is {written}")
    return given or written


#: The options every AWS command shares come first in ``--help``, then the outputs it reads.
_SHARED = {f.name for f in fields(ContextOptions)}


def _output_option(name: str) -> click.Option:
    return click.Option(
        [OUTPUT_OPTIONS[name], f"output_{name}"],
        metavar="VALUE",
        help=f"{STACK_OUTPUTS[name][1]} (stack output {name})",
    )


def _param(spec: Field[Any]) -> click.Parameter:
    kind: type[click.Parameter] = spec.metadata["param"]
    return kind([*spec.metadata["decls"], spec.name], **spec.metadata["attrs"])


def command[O: AwsOptions](
    options: type[O], *, outputs: tuple[str, ...] = (), without: tuple[str, ...] = ()
) -> Callable[[Callable[[O], int]], click.Command]:
    """A click command of ``run(options) -> exit code``; its help is ``run``'s docstring.

    ``without`` names shared options the command does not offer (they arrive as None).
    """

    def decorate(run: Callable[[O], int]) -> click.Command:
        declared = [
            spec
            for spec in fields(options)
            if "param" in spec.metadata and spec.name not in without
        ]
        params = [_param(spec) for spec in declared if spec.name in _SHARED]
        params += [_output_option(name) for name in outputs]
        params += [_param(spec) for spec in declared if spec.name not in _SHARED]

        def callback(**values: Any) -> int:
            given = {name: values.pop(f"output_{name}") for name in outputs}
            values.update(dict.fromkeys(without))
            return run(options(**values, given_outputs=given))

        return click.Command(
            run.__name__.replace("_", "-"),
            callback=callback,
            params=params,
            help=inspect.getdoc(run),
        )

    return decorate
