"""The runbook's ```bash blocks, in page order, with the markers that tell the rehearsal what to
do with each (docs/decisions/0015-runbook-rehearsal.md):

* ``<!-- rehearse fill: <placeholder> = <value> -->`` anywhere on the page: every block's
  ``<placeholder>`` becomes ``<value>``; a value ``output: <regex>`` is read when the block
  runs, from the output of the block that ran just before it (the regex's first group), as
  the operator copies a value the previous command printed;
* ``<!-- rehearse skip: <reason> -->`` on the line before a block: listed, not run;
* ``<!-- rehearse stop: <reason> -->`` on the line before a block: the rehearsal ends there;
* ``<!-- rehearse instead: <name>: <reason> -->`` on the line before a block: the rehearsal
  runs its own step ``<name>`` in the block's place (``deploy``: ``rehearsal.deploy``), the
  block stays as written for the operator.

Each block is named after the step it belongs to: the page's ``##`` heading, and the numbered
(``0. **Title.**``) or bulleted (``- **Title.**``) item it sits in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum

__all__ = ["Block", "Kind", "Runbook", "filled_from", "parse", "unfilled"]

_FENCE = re.compile(r"^(?P<indent>\s*)```bash\s*$")
_MARKER = re.compile(
    r"^\s*<!--\s*rehearse (?P<kind>skip|stop|fill|instead):\s*(?P<text>.*?)\s*-->\s*$"
)
_FILL = re.compile(r"^(?P<placeholder><[^<>]+>)\s*=\s*(?P<value>.*)$")
_HEADING = re.compile(r"^##\s+(?P<title>.+?)(?:\s+\{#[^}]*\})?\s*$")
_ITEM = re.compile(r"^\s*(?:(?P<number>\d+)\.|-(?: \[ \])?)\s+\*\*(?P<title>.+?)\*\*")
_HEREDOC = re.compile(r"<<-?\s*'?(?P<word>\w+)'?")
#: A fill's value read from the output of the block before: ``output: <regex>``.
_FROM_OUTPUT = "output:"
#: A placeholder the page leaves to the operator: ``<`` a word, a space, more words, ``>``.
_PLACEHOLDER = re.compile(r"<[A-Za-z][^<>\n]*\s[^<>\n]*>")


class Kind(StrEnum):
    """What the rehearsal does with a block."""

    RUN = "run"
    SKIP = "skip"
    STOP = "stop"
    INSTEAD = "instead"


@dataclass(frozen=True)
class Block:
    """One ```bash block: its step, its text as written and as filled, what to do with it."""

    step: str
    line: int
    written: str
    command: str
    kind: Kind = Kind.RUN
    reason: str = ""
    #: For ``instead``: the name of the rehearsal's own step run in the block's place.
    instead: str = ""

    @property
    def first_line(self) -> str:
        """The block's first command line (its continuation lines folded in, comments out)."""
        lines = []
        for line in self.command.splitlines():
            lines.append(line.split("  # ")[0].rstrip().removesuffix("\\").strip())
            if not line.rstrip().endswith("\\"):
                break
        first = " ".join(part for part in lines if part)
        if heredoc := _HEREDOC.search(first):  # its body is the command: say how long it is
            body = len(self.command.splitlines()) - len(lines) - 1
            first += f" … {heredoc['word']} ({body} lines)"
        return first


@dataclass
class Runbook:
    """Every block in page order and the fills the page declares."""

    blocks: list[Block] = field(default_factory=list)
    fills: dict[str, str] = field(default_factory=dict)
    #: Fills read from the previous block's output when the block runs (``output: <regex>``).
    output_fills: dict[str, re.Pattern[str]] = field(default_factory=dict)

    def rehearsed(self) -> list[Block]:
        """The blocks that run: those before the first stop, skips left out."""
        run = []
        for block in self.blocks:
            if block.kind is Kind.STOP:
                break
            if block.kind in (Kind.RUN, Kind.INSTEAD):
                run.append(block)
        return run

    def stop(self) -> Block | None:
        return next((block for block in self.blocks if block.kind is Kind.STOP), None)

    def skipped(self) -> list[Block]:
        """The skipped blocks before the stop (after it, nothing runs anyway)."""
        stop = self.stop()
        end = stop.line if stop else float("inf")
        return [b for b in self.blocks if b.kind is Kind.SKIP and b.line < end]

    def not_reached(self) -> list[Block]:
        stop = self.stop()
        return [b for b in self.blocks if stop and b.line > stop.line]


def parse(text: str) -> Runbook:
    """The page's blocks and fills; a marker that names nothing is an error (ValueError)."""
    lines = text.splitlines()
    runbook = Runbook()
    for number, line in enumerate(lines, 1):
        marker = _MARKER.match(line)
        if marker and marker["kind"] == "fill":
            _fill(runbook, number, marker["text"])
    heading, item = "", ""
    pending: tuple[Kind, str] | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        if found := _HEADING.match(line):
            heading, item = found["title"], ""
        elif found := _ITEM.match(line):
            title = found["title"].rstrip(".")
            item = f"{found['number']}: {title}" if found["number"] else f": {title}"
        if (marker := _MARKER.match(line)) and marker["kind"] != "fill":
            pending = (Kind(marker["kind"]), marker["text"])
        elif fence := _FENCE.match(line):
            indent, start = fence["indent"], index + 1
            body = []
            index += 1
            while index < len(lines) and lines[index].strip() != "```":
                body.append(lines[index].removeprefix(indent))
                index += 1
            written = "\n".join(body) + "\n"
            kind, reason = pending or (Kind.RUN, "")
            instead = ""
            if kind is Kind.INSTEAD:
                instead, _, reason = reason.partition(":")
                instead, reason = instead.strip(), reason.strip()
                if not instead or not reason:
                    raise ValueError(
                        f"line {index}: an instead marker is 'instead: <step>: <reason>'"
                    )
            step = f"{heading} {item}".replace(" : ", ": ").strip() if item else heading
            runbook.blocks.append(
                Block(
                    step=step,
                    line=start,
                    written=written,
                    command=_filled(written, runbook.fills),
                    kind=kind,
                    reason=reason,
                    instead=instead,
                )
            )
            pending = None
        elif line.strip() and pending is not None:
            raise ValueError(
                f"line {index}: a rehearse {pending[0]} marker must be the line before a ```bash "
                "block"
            )
        index += 1
    return runbook


def _fill(runbook: Runbook, number: int, text: str) -> None:
    """One fill marker's ``<placeholder> = <value>`` (or ``= output: <regex>``) noted."""
    fill = _FILL.match(text)
    if fill is None:
        raise ValueError(f"line {number}: a fill marker is '<placeholder> = value'")
    value = fill["value"]
    if not value.startswith(_FROM_OUTPUT):
        runbook.fills[fill["placeholder"]] = value
        return
    try:
        pattern = re.compile(value.removeprefix(_FROM_OUTPUT).strip())
    except re.error as exc:
        raise ValueError(f"line {number}: the fill's regex: {exc}") from exc
    if pattern.groups < 1:
        raise ValueError(f"line {number}: an output fill's regex needs a group")
    runbook.output_fills[fill["placeholder"]] = pattern


def _filled(text: str, fills: dict[str, str]) -> str:
    for placeholder, value in fills.items():
        text = text.replace(placeholder, value)
    return text


def filled_from(block: Block, output: str, fills: dict[str, re.Pattern[str]]) -> Block | str:
    """``block`` with its output fills read from ``output`` (the block before's), or why not."""
    command = block.command
    for placeholder, pattern in fills.items():
        if placeholder not in command:
            continue
        if (found := pattern.search(output)) is None:
            return (
                f"could not fill {placeholder}: the output of the block before has no match "
                f"for /{pattern.pattern}/"
            )
        command = command.replace(placeholder, found.group(1))
    return replace(block, command=command)


def unfilled(block: Block) -> list[str]:
    """The placeholders left in a block to run (bash would read ``<a b>`` as a redirection)."""
    return sorted(set(_PLACEHOLDER.findall(block.command)))
