"""The workspace's members, read from the root ``pyproject.toml`` and each member's own.

``[tool.uv.workspace] members`` (globs, in order) names the folders; each folder's
``pyproject.toml`` gives the distribution name, the import name (the wheel's package) and
the extras. A new member is a folder and a pyproject, never a line here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nox

__all__ = ["ROOT", "Member", "read_members", "sync"]

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Member:
    """One workspace member: where it is, what it is called, what its extras are."""

    name: str
    folder: str
    import_name: str
    extras: tuple[str, ...]

    @property
    def is_library(self) -> bool:
        """A library (``packages/``): built as a wheel of its own."""
        return self.folder.startswith("packages/")


def _load(path: Path) -> dict[str, Any]:
    with path.open("rb") as file:
        return tomllib.load(file)


def _member(root: Path, folder: Path) -> Member:
    pyproject = _load(folder / "pyproject.toml")
    (package,) = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    if not (folder / package / "__init__.py").is_file():
        raise RuntimeError(f"{folder}/pyproject.toml: its wheel's package {package} is not there")
    return Member(
        name=pyproject["project"]["name"],
        folder=folder.relative_to(root).as_posix(),
        import_name=Path(package).name,
        extras=tuple(pyproject["project"].get("optional-dependencies", {})),
    )


def read_members(root: Path = ROOT) -> dict[str, Member]:
    """Distribution name -> member, in the order of the workspace's ``members`` globs."""
    workspace = _load(root / "pyproject.toml")["tool"]["uv"]["workspace"]
    excluded = {path for pattern in workspace.get("exclude", []) for path in root.glob(pattern)}
    members: dict[str, Member] = {}
    for pattern in workspace["members"]:
        for folder in sorted(root.glob(pattern)):
            if folder in excluded or not (folder / "pyproject.toml").is_file():
                continue
            member = _member(root, folder)
            members[member.name] = member
    return members


def sync(
    session: nox.Session, package: str | None, *groups: str, extras: tuple[str, ...] = ()
) -> None:
    """Install a member (or only groups) from the lock into the session's virtualenv."""
    args = ["uv", "sync", "--frozen", "--no-default-groups", "--inexact"]
    args += ["--package", package] if package else ["--no-install-workspace"]
    args += [f"--group={group}" for group in groups]
    args += [f"--extra={extra}" for extra in extras]
    session.run_install(
        *args, env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location}, silent=True
    )
