"""Running the rehearsed blocks in order, each in its own ``bash -e -o pipefail`` from the
rehearsal's copy of the repository's root, and the timeline they leave.

The first block that fails (a non-zero exit, a placeholder no fill marker fills, a timeout)
ends the run: the steps after it stand on what it should have done.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from rehearsal.runbook import Block, Kind, Runbook, filled_from, unfilled

__all__ = ["Instead", "Outcome", "Rehearsal", "run_blocks"]

#: The rehearsal's own steps, by name: each returns its exit code and its output.
Instead = Mapping[str, Callable[[], tuple[int, str]]]

#: One block's bound: the CDK CLI's synth is the slowest step (about a minute on 2 cores).
BLOCK_TIMEOUT = 600.0


@dataclass(frozen=True)
class Outcome:
    """What one block did: its exit code (None: it could not run, ``problem`` says why)."""

    block: Block
    exit_code: int | None
    seconds: float
    output: str
    problem: str = ""

    @property
    def ok(self) -> bool:
        """It exited 0 and the rehearsal's own check after it found nothing wrong."""
        return self.exit_code == 0 and not self.problem

    def verdict(self) -> str:
        """Why the block failed, in one line naming its step."""
        why = self.problem or f"exited {self.exit_code}"
        return f"step '{self.block.step}' failed: `{self.block.first_line}` {why}"


@dataclass
class Rehearsal:
    runbook: Runbook
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> Outcome | None:
        return next((outcome for outcome in self.outcomes if not outcome.ok), None)

    @property
    def seconds(self) -> float:
        return sum(outcome.seconds for outcome in self.outcomes)


def run_instead(block: Block, instead: Instead) -> Outcome:
    """The rehearsal's own step in the block's place."""
    if block.instead not in instead:
        known = ", ".join(sorted(instead)) or "none"
        return Outcome(block, None, 0.0, "", f"names no step of the rehearsal: {block.instead!r} "
                       f"(known: {known})")  # fmt: skip
    start = time.perf_counter()
    code, output = instead[block.instead]()
    return Outcome(block, code, time.perf_counter() - start, output)


def run_block(block: Block, *, cwd: Path, env: Mapping[str, str], timeout: float) -> Outcome:
    if missing := unfilled(block):
        problem = (
            f"left {', '.join(missing)} unfilled: add "
            f"<!-- rehearse fill: {missing[0]} = <value> --> to the page"
        )
        return Outcome(block, None, 0.0, "", problem)
    bash = shutil.which("bash", path=env.get("PATH"))
    if bash is None:
        return Outcome(block, None, 0.0, "", "could not run: no bash on PATH")
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [bash, "-e", "-o", "pipefail", "-c", block.command],
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.output if isinstance(exc.output, str) else ""
        seconds = time.perf_counter() - start
        return Outcome(block, None, seconds, output, f"timed out after {timeout:.0f} s")
    return Outcome(block, done.returncode, time.perf_counter() - start, done.stdout)


def run_blocks(
    runbook: Runbook,
    *,
    cwd: Path,
    env: Mapping[str, str],
    echo: Callable[[str], None],
    timeout: float = BLOCK_TIMEOUT,
    instead: Instead | None = None,
    before: Callable[[int, Block], None] | None = None,
    after: Callable[[Block, int | None], str] | None = None,
) -> Rehearsal:
    """Run the rehearsed blocks until one fails; ``echo`` gets each block and its output,
    ``before`` each block's position and the block before it runs (the watcher's phase),
    ``after`` each block and its exit code, and says what is wrong with the account after it
    ("": nothing), which fails the block (``rehearsal.restored``)."""
    rehearsal = Rehearsal(runbook)
    for block in runbook.rehearsed():
        if before is not None:
            before(len(rehearsal.outcomes), block)
        if block.kind is Kind.INSTEAD:
            echo(f"── {block.step}\n(instead of the block: the rehearsal's {block.instead})")
            outcome = run_instead(block, instead or {})
        else:
            previous = rehearsal.outcomes[-1].output if rehearsal.outcomes else ""
            filled = filled_from(block, previous, runbook.output_fills)
            if isinstance(filled, str):
                outcome = Outcome(block, None, 0.0, "", filled)
            else:
                echo(f"── {block.step}\n$ {filled.command.rstrip()}")
                outcome = run_block(filled, cwd=cwd, env=env, timeout=timeout)
        if after is not None and not outcome.problem and (wrong := after(block, outcome.exit_code)):
            outcome = replace(outcome, problem=wrong)
        rehearsal.outcomes.append(outcome)
        echo(outcome.output.rstrip())
        echo(f"-> exit {outcome.exit_code}, {outcome.seconds:.1f} s {outcome.problem}".rstrip())
        if not outcome.ok:
            break
    return rehearsal
