"""Every citation of the contract names a section that ``docs/contract.md`` has.

Code and docs cite the contract as ``docs/contract.md#<section>``. A citation of a section the
page lacks, a citation in the old numbered form ("CONTRACT 2.1") or a path out of the
repository (``../shared/CONTRACT.md``) fails here, so that someone holding only a clone can
follow every reference.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "contract.md"

#: Folders that hold no text of ours: tool caches, builds, dependencies.
SKIP_DIRS = {
    ".git",
    ".nox",
    ".tools",
    ".venv",
    "node_modules",
    "site",
    "dist",
    "cdk.out",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
}
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yml", ".yaml", ".json", ".cfg", ".txt", ".lua", ".sh"}

CITATION = re.compile(r"docs/contract\.md#([A-Za-z0-9_-]+)")
#: The numbered form and paths outside the repository (identifiers like CONTRACT_CASES are fine).
OUTSIDE = re.compile(r"\bCONTRACT\b(?!_)|shared/CONTRACT|\.\./shared/")
#: Markdown relative links from a docs page to the contract: (contract.md#x) or (../contract.md#x).
RELATIVE_LINK = re.compile(r"\((?:\.\./)*contract\.md#([A-Za-z0-9_-]+)\)")
HEADING_ID = re.compile(r"^#{1,6} .*\{#([A-Za-z0-9_-]+)\}\s*$", re.MULTILINE)


def sections() -> set[str]:
    return set(HEADING_ID.findall(PAGE.read_text(encoding="utf-8")))


def text_files() -> list[Path]:
    """Our text files, without this one (its examples cite made-up sections on purpose)."""
    files = []
    for folder, dirs, names in os.walk(ROOT):
        dirs[:] = [name for name in dirs if name not in SKIP_DIRS]
        for name in names:
            path = Path(folder) / name
            if path == Path(__file__).resolve() or name == "uv.lock" or name.endswith("lock.json"):
                continue
            if path.suffix in TEXT_SUFFIXES or name in {"nox", "run"}:
                files.append(path)
    return files


def citations() -> list[tuple[str, int, str]]:
    found = []
    for path in text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            anchors = CITATION.findall(line) + RELATIVE_LINK.findall(line)
            found.extend((str(path.relative_to(ROOT)), number, anchor) for anchor in anchors)
    return found


def test_the_page_has_the_sections_the_code_relies_on():
    expected = {
        "overview",
        "public-api",
        "query-result",
        "retired-marketing",
        "health",
        "errors",
        "request-id",
        "internal-api",
        "data-model",
        "configuration",
        "security",
        "public-edge",
        "ownership",
        "tokens",
        "inside",
        "running-account",
    }
    assert expected <= sections()


def test_every_citation_names_a_section_of_the_page():
    found = citations()
    assert len(found) >= 10, "the scan found almost no citations: is it looking in the right place?"
    known = sections()
    unknown = [f"{where}:{line} #{anchor}" for where, line, anchor in found if anchor not in known]
    assert not unknown, "citations of sections docs/contract.md lacks:\n" + "\n".join(unknown)


def test_no_reference_points_outside_the_repository():
    stale = []
    for path in text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE.search(line):
                stale.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not stale, "cite docs/contract.md#<section> instead:\n" + "\n".join(stale)


@pytest.mark.parametrize(
    ("line", "anchor"),
    [("see docs/contract.md#errors.", "errors"), ("[x](../contract.md#tokens)", "tokens")],
)
def test_the_scan_recognises_both_citation_forms(line: str, anchor: str):
    assert anchor in CITATION.findall(line) + RELATIVE_LINK.findall(line)


@pytest.mark.parametrize("line", ["(CONTRACT 2.4)", "see ../shared/CONTRACT.md", "CONTRACT;"])
def test_the_scan_flags_the_old_forms(line: str):
    assert OUTSIDE.search(line)
