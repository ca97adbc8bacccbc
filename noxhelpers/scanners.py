"""checkov's own environment for ``nox -s security``.

checkov pins a boto3 below the workspace's, so it cannot share ``uv.lock``: it gets a
virtualenv of its own inside the session's, from hash-pinned requirements
(infra/scanners/checkov.txt).
"""

from __future__ import annotations

from pathlib import Path

import nox

from noxhelpers.workspace import ROOT

__all__ = ["checkov"]


def checkov(session: nox.Session) -> Path:
    """checkov installed from infra/scanners/checkov.txt; the path of its executable."""
    location = Path(session.virtualenv.location)
    venv = location / "checkov"
    python = venv / "bin" / "python"
    if not python.exists():
        base = str(location / "bin" / "python")
        session.run("uv", "venv", "--quiet", "--python", base, str(venv), external=True)
    requirements = str(ROOT / "infra" / "scanners" / "checkov.txt")
    session.run(
        "uv",
        "pip",
        "install",
        "--quiet",
        "--python",
        str(python),
        "--require-hashes",
        "--no-deps",
        "-r",
        requirements,
        external=True,
    )
    return venv / "bin" / "checkov"
