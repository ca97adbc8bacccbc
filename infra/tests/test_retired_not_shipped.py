"""The retired reference code (retired/) is in no artifact `nox -s build` makes: neither the
Lambda deployment package CDK uploads nor the files the image's Dockerfile puts in the image."""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import pytest
from query_infra.config import REPO_ROOT

DIST = REPO_ROOT / "dist"
RETIRED = REPO_ROOT / "retired"


def _retired_code() -> tuple[set[str], set[str]]:
    """The retired files' names (without suffix) and the SHA-256 of their contents."""
    files = list(RETIRED.rglob("*.py"))
    assert files, "retired/ holds no code: this test would prove nothing"
    return {p.stem for p in files}, {hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _assert_free_of_retired_code(files: dict[str, bytes]) -> None:
    names, digests = _retired_code()
    for path, content in files.items():
        parts = {Path(part).stem for part in path.split("/")}
        assert not parts & (names | {"retired", "_retired"}), path
        assert hashlib.sha256(content).hexdigest() not in digests, path
        if path.endswith(".py"):
            assert b"marketing_id-index" not in content, path


def test_the_lambda_package_holds_no_retired_code():
    package = DIST / "lambda" / "package"
    files = {
        p.relative_to(package).as_posix(): p.read_bytes() for p in package.rglob("*") if p.is_file()
    }
    assert "lambdas/query_result/handler.py" in files  # the real package, not an empty folder
    _assert_free_of_retired_code(files)


def _image_sources(dockerfile: str) -> list[str]:
    """What the Dockerfile copies from its build context (COPY without --from)."""
    sources = []
    for line in dockerfile.splitlines():
        found = re.match(r"COPY\s+(?!--from)(.+)\s+\S+$", line)
        if found:
            sources += found[1].split()
    return sources


def _image_files() -> dict[str, bytes]:
    """Our files in the image: the build context's files the Dockerfile copies, and the
    contents of the wheels it installs (requirements.txt holds third-party pins only)."""
    context = DIST / "image"
    sources = _image_sources((context / "Dockerfile").read_text())
    assert sorted(sources) == ["requirements.txt", "wheels/"], sources
    files = {"requirements.txt": (context / "requirements.txt").read_bytes()}
    wheels = sorted((context / "wheels").glob("*.whl"))
    assert wheels
    for wheel in wheels:
        files[f"wheels/{wheel.name}"] = wheel.read_bytes()
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                files[f"{wheel.name}!/{name}"] = archive.read(name)
    return files


def test_the_image_holds_no_retired_code():
    files = _image_files()
    assert any(name.endswith("!/ecs_service/app.py") for name in files)
    requirements = files["requirements.txt"].decode()
    assert "query-lambdas" not in requirements
    assert "query_lambdas" not in " ".join(files)
    _assert_free_of_retired_code(files)


@pytest.mark.parametrize(
    "path", ["lambdas/_retired/marketing_query.py", "retired/notes.txt", "pkg/marketing_query.pyc"]
)
def test_the_check_finds_retired_code_by_its_path(path):
    with pytest.raises(AssertionError):
        _assert_free_of_retired_code({path: b""})


def test_the_check_finds_retired_code_by_its_contents():
    content = (RETIRED / "marketing_query.py").read_bytes()
    with pytest.raises(AssertionError):
        _assert_free_of_retired_code({"lambdas/query/old.py": content})
