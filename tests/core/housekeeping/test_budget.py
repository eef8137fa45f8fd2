"""``storeBudget`` on the real remote Docker host: after a build deck removes the oldest unused
images of the project until they fit, and says so in the prepare's output or the run's log."""

from __future__ import annotations

import re
import secrets

import pytest

from tests.cli.test_remote_docker import home, remote_deck  # noqa: F401 - fixtures
from tests.core.housekeeping.test_environments import exists, gpu1, prepare  # noqa: F401
from tests.fixtures.projects import run_id_of

pytestmark = [pytest.mark.ssh, pytest.mark.docker]


def set_budget(deck, budget: str) -> None:
    compute = deck.project / "aml_config" / "gpu1.compute"
    compute.write_text(compute.read_text() + f"storeBudget: {budget}\n")


def test_a_build_over_the_budget_removes_the_oldest_unused_image(gpu1):  # noqa: F811
    deck = gpu1
    first = prepare(deck, secrets.token_hex(4))
    second = prepare(deck, secrets.token_hex(4))
    set_budget(deck, "1kB")  # less than one image: only what is needed may stay

    (deck.project / "aml_config" / "conda_dependencies.yml").write_text(
        f'dependencies:\n  - python=3.11\n  - pip:\n    - six\n    - "# {secrets.token_hex(4)}"\n')
    out = deck("prepare", "-c", "gpu1", timeout=600, check=True).out
    third = out.strip().splitlines()[-1].split()[1]

    assert re.search(r"storeBudget 1\.0 kB of gpu1: 3 environments take \d+(\.\d)? [kMG]B; "
                     "removing the oldest unused:", out), out
    assert out.index(f"removed {first}") < out.index(f"removed {second}")
    assert not exists(first) and not exists(second) and exists(third)


def test_within_the_budget_nothing_is_removed_or_said(gpu1):  # noqa: F811
    deck = gpu1
    first = prepare(deck, secrets.token_hex(4))
    set_budget(deck, "20GB")
    (deck.project / "aml_config" / "conda_dependencies.yml").write_text(
        f'dependencies:\n  - python=3.11\n  - pip:\n    - six\n    - "# {secrets.token_hex(4)}"\n')
    result = deck("prepare", "-c", "gpu1", timeout=600, check=True)
    assert "storeBudget" not in result.out + result.err and exists(first)  # a key deck knows


def test_a_run_that_prepares_keeps_the_budget_and_says_so_in_its_log(gpu1):  # noqa: F811
    deck = gpu1
    old = prepare(deck, secrets.token_hex(4))
    set_budget(deck, "1kB")
    runconfig = deck.project / "aml_config" / "gpu1.runconfig"
    runconfig.write_text(re.sub(r'"?PrepareEnvironment"?: *\w+', "PrepareEnvironment: true",
                                runconfig.read_text()))
    (deck.project / "aml_config" / "conda_dependencies.yml").write_text(
        f'dependencies:\n  - python=3.11\n  - pip:\n    - six\n    - "# {secrets.token_hex(4)}"\n')
    result = deck("submit", "-c", "gpu1", "train.py", "--epochs", "1", "--sleep", "0",
                  timeout=600)
    assert result.returncode == 0, result.err
    run = deck.json("runs", "show", run_id_of(result.out))
    log = deck("logs", run["run_id"], check=True).out
    assert f"removed {old}" in log and "storeBudget 1.0 kB of gpu1" in log
    assert not exists(old) and exists(run["environment_id"])
