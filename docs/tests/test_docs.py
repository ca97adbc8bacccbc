"""Checks of the built site (run by `nox -s docs` after `mkdocs build --strict`)."""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "site"
sys.path.insert(0, str(ROOT / "docs"))

import hooks  # noqa: E402  (docs/hooks.py: the generator the site uses)

#: How the deployed components read their environment, besides their settings classes.
ENV_READ = re.compile(
    r"""(?:environ(?:\.get)?|env\.get|_seconds\(env,)\s*[\[(]?\s*["']([A-Z][A-Z0-9_]+)["']"""
)
COMPONENTS = [ROOT / "apps" / "ecs_service" / "src", ROOT / "apps" / "lambdas" / "src"]


def test_configuration_page_lists_every_variable_the_code_reads():
    page = hooks.configuration_page()
    read = set()
    for folder in COMPONENTS:
        for path in folder.rglob("*.py"):
            read |= set(ENV_READ.findall(path.read_text()))
    assert read, "the scan found no environment reads at all"
    missing = sorted(name for name in read if f"`{name}`" not in page)
    assert not missing, f"read by the code but not on the configuration page: {missing}"


def test_configuration_page_lists_every_settings_field():
    page = hooks.configuration_page()
    for rows in hooks.configuration_rows().values():
        for name, _default, meaning in rows:
            assert f"`{name}`" in page
            assert meaning, f"{name} has no description"


def test_site_was_built_with_offline_search_and_bundled_mermaid():
    assert (SITE / "search" / "search_index.json").is_file()
    html = (SITE / "architecture" / "index.html").read_text()
    assert "assets/mermaid.min.js" in html
    assert "unpkg.com" not in html
    assert (SITE / "reference" / "openapi.json").is_file()


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _svgs_in_mermaid(node: dict, inside: bool = False) -> int:
    """SVG elements under class="mermaid", shadow roots included (CDP sees closed ones)."""
    attributes = node.get("attributes", [])
    classes = dict(zip(attributes[::2], attributes[1::2], strict=False)).get("class", "")
    inside = inside or "mermaid" in classes.split()
    own = 1 if inside and node.get("nodeName", "").lower() == "svg" else 0
    children = node.get("children", []) + node.get("shadowRoots", [])
    return own + sum(_svgs_in_mermaid(child, inside) for child in children)


def test_architecture_diagrams_render_as_svg_in_a_browser(site_url):
    """Headless Debian chromium opens the page: each diagram is an SVG, not mermaid text."""
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    assert chromium, "a Chromium is needed (nox -s docs finds or installs one: CHROMIUM_PATH)"
    diagrams = (ROOT / "docs" / "architecture.md").read_text().count("```mermaid")
    assert diagrams >= 2
    shot = SITE / "architecture-screenshot.png"
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.on("request", lambda request: outside.append(request.url))
            page.goto(f"{site_url}/architecture/")
            page.wait_for_function(
                f"document.querySelectorAll('.mermaid').length === {diagrams}"
                " && [...document.querySelectorAll('.mermaid')].every(e => !e.textContent"
                ".includes('flowchart'))",
                timeout=30_000,
            )
            cdp = page.context.new_cdp_session(page)
            document = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})
            page.screenshot(path=str(shot), full_page=True)
            text = page.inner_text("article")
        finally:
            browser.close()
    assert _svgs_in_mermaid(document["root"]) == diagrams
    assert "flowchart TB" not in text
    assert shot.stat().st_size > 20_000
    assert [url for url in outside if not url.startswith(site_url)] == []
