"""cfn-lint on every synthesized template: clean except for the ignores in .cfnlintrc.yaml."""

import subprocess
import sys
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / ".cfnlintrc.yaml"


def test_templates_are_cfn_lint_clean(fresh, existing, existing_api):
    # One cfn-lint process for the three contexts: its start-up is most of its time.
    templates = [str(s.template_path) for s in (fresh, existing, existing_api)]
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--config-file",
            str(CONFIG),
            "--",
            *templates,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
