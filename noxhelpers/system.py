"""The two programs some sessions take from the system: a Chromium (docs) and wrk (load).

Each is found first; if missing, Debian's package is installed when the session runs as root
(CI does), else the session stops with the line to run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nox

__all__ = ["apt_install", "ensure_chromium", "ensure_wrk", "find_chromium"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def apt_install(session: nox.Session, package: str, why: str) -> None:
    """Debian's ``package``, installed when the session runs as root (CI does); else an error."""
    if not shutil.which("apt-get") or os.geteuid() != 0:
        session.error(f"{why} needs Debian's {package}: sudo apt-get install {package}")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", "-qq", external=True, env=env, silent=True)
    session.run("apt-get", "install", "-y", "-qq", package, external=True, env=env, silent=True)


def ensure_wrk(session: nox.Session) -> None:
    """wrk, the load generator (Debian's package), installed when missing and running as root."""
    if not shutil.which("wrk"):
        apt_install(session, "wrk", "the load generator")


def _runs(browser: str) -> bool:
    try:
        subprocess.run([browser, "--version"], capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def find_chromium() -> str | None:
    """A Chromium the site's browser test can drive: on the PATH, or Playwright's own build."""
    found = [shutil.which(name) for name in CHROMIUM_NAMES]
    cache = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache/ms-playwright")
    found += [str(p) for p in sorted(cache.glob("chromium-*/chrome-linux*/chrome"), reverse=True)]
    return next((browser for browser in found if browser and _runs(browser)), None)


def ensure_chromium(session: nox.Session) -> str:
    """Any usable Chromium; else Debian's (as root), else Playwright's (where it can be fetched)."""
    if found := find_chromium():
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        apt_install(session, "chromium", "the docs' browser test")
    else:
        # Playwright's own build, where its download host is reachable (a failure is fine here).
        session.run("playwright", "install", "chromium", success_codes=list(range(256)))
    if found := find_chromium():
        return found
    session.error(
        "the docs' browser test needs a Chromium and none was found or could be fetched. "
        "Install one: Debian/Ubuntu `sudo apt-get install chromium`; or, where Playwright's "
        "downloads are reachable, `.nox/docs/bin/playwright install chromium`; or set "
        "CHROMIUM_PATH=/path/to/chrome."
    )
    raise AssertionError  # session.error raises
