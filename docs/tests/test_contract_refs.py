"""Every citation of the contract names a section that ``docs/contract.md`` has, and every
citation of another page (``docs/runbook.md#deploy``) one of that page's headings.

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
from markdown.extensions.toc import slugify

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
        "side-doors",
    }
    assert expected <= sections()


def test_every_citation_names_a_section_of_the_page():
    found = citations()
    assert len(found) >= 10, "the scan found almost no citations: is it looking in the right place?"
    known = sections()
    unknown = [f"{where}:{line} #{anchor}" for where, line, anchor in found if anchor not in known]
    assert not unknown, "citations of sections docs/contract.md lacks:\n" + "\n".join(unknown)


#: A citation of another page of the site from code or config: docs/<page>.md#<anchor>.
PAGE_CITATION = re.compile(r"docs/((?:[a-z0-9_-]+/)*[a-z0-9_-]+)\.md#([A-Za-z0-9_-]+)")
HEADING = re.compile(r"^#{1,6} (.*?)\s*$", re.MULTILINE)
EXPLICIT_ID = re.compile(r"\s*\{#([A-Za-z0-9_-]+)\}$")


def anchors_of(page: Path) -> set[str]:
    """The ids the site gives the page's headings: an explicit ``{#id}``, else the toc slug."""
    ids = set()
    for heading in HEADING.findall(page.read_text(encoding="utf-8")):
        if explicit := EXPLICIT_ID.search(heading):
            ids.add(explicit.group(1))
        else:
            ids.add(slugify(heading, "-"))
    return ids


def test_every_citation_of_another_page_names_one_of_its_headings():
    cited: dict[tuple[str, str], list[str]] = {}
    for path in text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            for page, anchor in PAGE_CITATION.findall(line):
                if page != "contract":
                    where = f"{path.relative_to(ROOT)}:{number}"
                    cited.setdefault((page, anchor), []).append(where)
    assert len(cited) >= 5, "the scan found almost no citations: is it looking in the right place?"
    wrong = []
    for (page, anchor), places in sorted(cited.items()):
        target = ROOT / "docs" / f"{page}.md"
        if not target.is_file() or anchor not in anchors_of(target):
            wrong.extend(f"{where} docs/{page}.md#{anchor}" for where in places)
    assert not wrong, "citations of headings the pages lack:\n" + "\n".join(wrong)


def test_the_page_anchors_follow_the_site():
    assert {"deploy", "prerequisites", "the-test-identity"} <= anchors_of(
        ROOT / "docs" / "runbook.md"
    )


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
