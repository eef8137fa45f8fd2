"""``deck prepare`` and ``deck images [prune]`` through the CLI, on the real engine.

(Kept beside the image code they drive; the CLI's own tests live under tests/cli/.)
"""

from __future__ import annotations

import re
import secrets
import subprocess

import pytest

from launchdeck.cli.main import main
from tests.fixtures.docker_engine import CA_BUNDLE

pytestmark = pytest.mark.docker


def conda(nonce: str, *pip: str) -> str:
    # A pip comment line unique to the test: its project builds its own images (an image
    # another project built is found, not rebuilt, and stays that project's).
    return ("dependencies:\n  - python=3.11\n  - pip:\n"
            + "".join(f"    - {p}\n" for p in pip) + f'    - "# {nonce}"\n')


@pytest.fixture
def cli_project(docker_project, monkeypatch):
    monkeypatch.setenv("DECK_BUILD_CA_BUNDLE", CA_BUNDLE)
    p = docker_project
    p.compute()
    p.nonce = secrets.token_hex(4)
    p.conda(conda(p.nonce, "six"))
    p.write("aml_config/docker.runconfig", 'ArgumentVector: ["$file"]\nTarget: docker\n'
            "EnvironmentVariables: null\nFramework: Python\nPrepareEnvironment: false\n")
    return p


def deck(project, capsys, *argv: str) -> tuple[int, str]:
    code = main(["--project", str(project.root), *argv])
    return code, capsys.readouterr().out


def test_prepare_prints_the_build_then_finds_the_image(cli_project, capsys):
    code, out = deck(cli_project, capsys, "prepare", "-c", "docker")
    assert code == 0
    last = out.strip().splitlines()[-1]
    assert re.fullmatch(r"Image: deck-env:[0-9a-f]{20} \((built in \d+\.\d s|found)\)", last)
    code, out = deck(cli_project, capsys, "prepare", "-c", "docker")
    assert code == 0 and out.strip().splitlines()[-1].endswith("(found)")
    ref = out.strip().splitlines()[-1].split()[1]

    code, out = deck(cli_project, capsys, "images")
    row = next(line for line in out.splitlines() if line.startswith(ref))
    assert " docker " in row and row.rstrip().endswith("this")


def test_prune_removes_only_images_no_runconfig_needs(cli_project, capsys):
    deck(cli_project, capsys, "prepare", "-c", "docker")
    _, out = deck(cli_project, capsys, "prepare", "-c", "docker")
    needed = out.strip().splitlines()[-1].split()[1]
    # Change the dependencies: the old image is no longer needed by any runconfig.
    cli_project.conda(conda(cli_project.nonce, "six", "idna"))
    deck(cli_project, capsys, "prepare", "-c", "docker")
    _, out = deck(cli_project, capsys, "prepare", "-c", "docker")
    current = out.strip().splitlines()[-1].split()[1]
    code, out = deck(cli_project, capsys, "images", "prune", "--yes")
    assert code == 0 and needed in out and current not in out
    exists = subprocess.run(["docker", "image", "inspect", needed], capture_output=True)
    assert exists.returncode != 0
    assert subprocess.run(["docker", "image", "inspect", current],
                          capture_output=True).returncode == 0
