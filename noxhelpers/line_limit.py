"""No source file of the repository over 400 lines: ``python -m noxhelpers.line_limit``.

Run by ``nox -s lint``. A file that long is doing two jobs; split it by job (a cohesive
module such as an error tree stays under the limit by keeping only the tree). Every file git
tracks, or would track, counts except the ones below, which no one writes by hand or which
are prose.
"""

from __future__ import annotations

import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

__all__ = ["EXCLUDED", "LIMIT", "main", "offenders", "stale_exclusions"]

LIMIT = 400

#: Path patterns that do not count, each with why.
EXCLUDED: dict[str, str] = {
    "uv.lock": "written by uv lock",
    "*package-lock.json": "written by npm install",
    "infra/scanners/checkov.txt": "hash-pinned requirements written by uv pip compile",
    "docs/assets/*": "the charts bench/charts.py writes and the vendored mermaid bundle",
    "*.md": "prose: a page is as long as its subject",
}


def _files(root: Path) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        check=True,
    )
    return sorted({name.decode() for name in listed.stdout.split(b"\0") if name})


def stale_exclusions(root: Path) -> list[str]:
    """The patterns of ``EXCLUDED`` that match no file: each must still be needed."""
    files = _files(root)
    return [p for p in EXCLUDED if not any(fnmatch(name, p) for name in files)]


def offenders(root: Path, limit: int = LIMIT) -> dict[str, int]:
    """Every counted file of ``root`` over ``limit`` lines, with its line count."""
    found = {}
    for name in _files(root):
        path = root / name
        if any(fnmatch(name, pattern) for pattern in EXCLUDED) or not path.is_file():
            continue
        try:
            lines = len(path.read_text(encoding="utf-8").splitlines())
        except UnicodeDecodeError:
            continue  # a binary file has no lines to read
        if lines > limit:
            found[name] = lines
    return found


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    found = offenders(root)
    for name, lines in sorted(found.items(), key=lambda item: -item[1]):
        print(f"{name}: {lines} lines (limit {LIMIT})")
    stale = stale_exclusions(root)
    for pattern in stale:
        print(f"EXCLUDED pattern {pattern!r} matches no file: remove it")
    if found or stale:
        print(f"{len(found)} file(s) over {LIMIT} lines: split each by job", file=sys.stderr)
        return 1
    print(f"no file over {LIMIT} lines (excluded: {', '.join(EXCLUDED)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
