"""The ``./nox`` launcher's usage comment names the default sessions: kept in step here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from noxhelpers.workspace import ROOT

__all__ = ["usage_mismatch"]


def usage_mismatch(sessions: Sequence[str], launcher: Path = ROOT / "nox") -> str | None:
    """What is wrong with the launcher's list of default sessions, or None when it is right."""
    comment = " ".join(
        line.lstrip("#").strip() for line in launcher.read_text().splitlines() if line[:1] == "#"
    )
    found = re.search(r"the default sessions: ([\w, ]+?) \(", comment)
    if not found:
        return f"{launcher.name}: no 'the default sessions: a, b, ... (' in its usage comment"
    named = [name.strip() for name in found[1].split(",")]
    if named != list(sessions):
        return (
            f"{launcher.name} names {named} as the default sessions; the noxfile's are {sessions}"
        )
    return None
