"""The one list of accepted scanner findings (nox -s security reads it): each with a reason."""

from __future__ import annotations

import tomllib
from pathlib import Path

SKIPS = Path(__file__).resolve().parents[1] / "scanners" / "skips.toml"


def test_every_accepted_finding_is_narrow_and_has_a_reason():
    skips = tomllib.loads(SKIPS.read_text())
    assert set(skips) == {"checkov", "bandit"}
    for tool, scope in (("checkov", "resources"), ("bandit", "paths")):
        for entry in skips[tool]:
            assert set(entry) == {"id", scope, "reason"}, entry
            assert entry[scope], f"{tool} {entry['id']} names no {scope}: it would accept all"
            assert len(entry["reason"]) >= 60, f"{tool} {entry['id']}: say why"


def test_no_check_is_accepted_everywhere():
    skips = tomllib.loads(SKIPS.read_text())
    for entry in skips["checkov"]:
        assert all("." in prefix for prefix in entry["resources"]), entry["id"]
    for entry in skips["bandit"]:
        assert "*" not in entry["paths"], entry["id"]
