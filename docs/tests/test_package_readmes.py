"""The packages' READMEs do what they say: their install lines install, their examples run.

For each library under ``packages/``, the ``bash`` lines of its README's *Install* section are
run as written (the placeholder git host replaced by this clone, the ``dist/`` wheels built
first) into a fresh virtualenv, and the README's Python example then runs in that virtualenv,
as a reader would run it, against a local chain started with ``python -m local_stack``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = "https://YOUR-GIT-HOST/YOUR-ORG/query-service.git@main"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)

#: README -> the distribution it installs (its own) and what its example needs from a chain.
PACKAGES = {
    "query_core": "query-core",
    "query_http_client": "query-http-client",
    "query_devstack": "query-devstack",
}


def readme(folder: str) -> str:
    return (ROOT / "packages" / folder / "README.md").read_text(encoding="utf-8")


def blocks(text: str, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(text) if lang == language]


def install_commands(text: str) -> list[list[str]]:
    """The ``pip install`` commands of the README's bash blocks, continuation lines joined."""
    commands = []
    for block in blocks(text, "bash"):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            words = shlex.split(line, comments=True)
            if words[:2] == ["pip", "install"]:
                commands.append(words[2:])
    return commands


def run(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> str:
    done = subprocess.run(
        args, capture_output=True, text=True, env=env, cwd=cwd, timeout=600, check=False
    )
    assert done.returncode == 0, f"{shlex.join(args)}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def uv() -> str:
    found = shutil.which("uv")
    assert found, "uv is not on PATH (./nox puts it there, in .tools/bin)"
    return found


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory, uv: str) -> Path:
    """What ``./nox -s build`` puts in ``dist/``: the libraries' wheels."""
    out = tmp_path_factory.mktemp("dist")
    for distribution in PACKAGES.values():
        run(uv, "build", "--wheel", "--package", distribution, "--out-dir", str(out), "--quiet")
    return out


@pytest.fixture(scope="module")
def chain() -> Iterator[dict[str, str]]:
    """``python -m local_stack`` on free ports (moto's server): the URLs the examples use."""
    from local_stack.background import BackgroundChain

    running = BackgroundChain(args=("--log-format", "json"))
    running.wait_ready(90)
    try:
        yield {
            "AWS_ENDPOINT_URL_DYNAMODB": running.url("dynamodb"),
            "INTERNAL_API_URL": running.url("internal"),
        }
    finally:
        running.stop()


def example_env(chain: dict[str, str]) -> dict[str, str]:
    """What a reader's shell would hold: the chain's URLs and an emulator's dummy credentials."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(ROOT)),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # the emulator's dummy credentials
        **chain,
    }


@pytest.mark.parametrize("folder", list(PACKAGES))
def test_readme_has_an_install_section_and_one_example(folder: str):
    text = readme(folder)
    assert "## Install" in text
    assert install_commands(text), "no pip install line"
    assert len(blocks(text, "python")) == 1, "one Python example, run by this test"


@pytest.mark.parametrize("form", ["git", "wheel"])
@pytest.mark.parametrize("folder", ["query_core", "query_http_client"])
def test_install_lines_install_and_the_example_runs(
    folder: str, form: str, uv: str, wheels: Path, chain: dict[str, str], tmp_path: Path
):
    head = run("git", "rev-parse", "HEAD").strip()
    commands = [
        words
        for words in install_commands(readme(folder))
        if any(("git+" in word) == (form == "git") for word in words)
    ]
    assert commands, f"no {form} install line"
    venv = tmp_path / "venv"
    run(uv, "venv", "--quiet", "--python", sys.executable, str(venv))
    python = str(venv / "bin" / "python")
    for words in commands:
        requirements = [
            word.replace(PLACEHOLDER, f"file://{ROOT}@{head}").replace("dist/", f"{wheels}/")
            for word in words
        ]
        run(uv, "pip", "install", "--quiet", "--python", python, *requirements)
    # boto3 is not a dependency of query-http-client: the example runs without it.
    (example,) = blocks(readme(folder), "python")
    run(python, "-c", example, env=example_env(chain), cwd=tmp_path)


def test_devstack_example_runs(tmp_path: Path):
    (example,) = blocks(readme("query_devstack"), "python")
    run(sys.executable, "-c", example, env=example_env({}), cwd=tmp_path)
