"""mypy passes on launchdeck.core with the settings of pyproject.toml ([tool.mypy]), run the way
a developer runs it (scripts/typecheck)."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_mypy_passes_on_every_module_of_core():
    result = subprocess.run([str(REPO / "scripts" / "typecheck")], capture_output=True,
                            text=True, env=dict(os.environ, PYTHON=sys.executable), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    modules = len(list((REPO / "core").rglob("*.py")))
    assert f"no issues found in {modules} source files" in result.stdout, result.stdout
