"""core/ never imports Textual or Rich: the CLI and the dashboard are two faces of one core."""

import pkgutil
import subprocess
import sys
from pathlib import Path

from launchdeck import core

REPO = Path(__file__).resolve().parent.parent.parent


def test_no_core_module_pulls_in_textual_or_rich():
    # The run-time helpers and the far-side scripts are never imported by deck: they are put on
    # a run's path or sent whole to a container or host, where they run as programs (boot.py
    # reads its stdin at once). Their sources are checked by the test below.
    far = ("launchdeck.core.runtime.", "launchdeck.core.farside.")
    modules = [m.name for m in pkgutil.walk_packages(core.__path__, "launchdeck.core.")
               if not m.name.startswith(far)]
    assert {"launchdeck.core.history.store", "launchdeck.core.targets.local.target"} <= set(modules)
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
            "print(','.join(bad))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_no_core_source_mentions_textual_imports():
    for path in (REPO / "core").rglob("*.py"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            assert not stripped.startswith(("import textual", "from textual", "import rich",
                                            "from rich")), f"{path}: {line}"


def test_config_does_not_depend_on_targets():
    """Configuration files are read without the code that runs them (issue 12)."""
    from tests.fixtures.imports import import_graph

    graph = import_graph()
    config = {m: sorted(d for d in deps if d.startswith("launchdeck.core.targets"))
              for m, deps in graph.items() if m.startswith("launchdeck.core.config")}
    assert {m: d for m, d in config.items() if d} == {}
