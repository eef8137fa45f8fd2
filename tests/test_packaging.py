"""The distribution installs one top-level package, launchdeck, mapped onto core/, cli/ and tui/."""

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PARTS = ("core", "cli", "tui")


def test_every_source_folder_is_a_listed_package():
    listed = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    on_disk = sorted("launchdeck." + ".".join(init.parent.relative_to(REPO).parts)
                     for part in PARTS for init in (REPO / part).rglob("__init__.py"))
    assert sorted(listed) == on_disk


def test_deck_runs_from_anywhere_without_a_source_root_on_the_path(tmp_path):
    code = ("import sys, launchdeck.cli.main, launchdeck.core.runs.keeper, launchdeck.tui.app\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'core', 'cli', 'tui'}))")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_wheel_holds_only_launchdeck_with_its_styles(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(tmp_path), str(REPO)], check=True, capture_output=True)
    wheel, = tmp_path.glob("launchdeck-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"launchdeck"}
    assert "launchdeck/core/runs/keeper.py" in names
    assert "launchdeck/tui/app.tcss" in names
    assert "launchdeck/core/farside/runner.py" in names
