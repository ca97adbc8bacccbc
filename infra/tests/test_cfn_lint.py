"""cfn-lint on every synthesized template: clean except for the ignores in .cfnlintrc.yaml."""

import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parents[1] / ".cfnlintrc.yaml"


@pytest.mark.parametrize("variant", ["fresh", "existing", "existing_api"])
def test_template_is_cfn_lint_clean(variant, request):
    synth = request.getfixturevalue(variant)
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--config-file",
            str(CONFIG),
            "--",
            str(synth.template_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
