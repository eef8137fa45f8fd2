"""``deck images --target`` and ``deck store prune --target`` on the real remote Docker host
(sshd on 127.0.0.1 in front of the real engine) and the real Spark cluster's head node.

Images carry the project that built them, so the other tests' images on the shared engine are
never this project's; the head node's venvs name no project, so the spark test only ever
prunes by an age that nothing but its own (back-dated) venvs reach.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time

import pytest

from tests.cli.test_remote_docker import attach, home, remote_deck  # noqa: F401 - fixtures
from tests.fixtures.docker_engine import CA_BUNDLE
from tests.fixtures.projects import run_id_of

SIZE = r"\d+(\.\d)? (B|kB|MB|GB)"


def conda(nonce: str) -> str:
    # A pip comment unique to the test: its images are its own (see test_cli_images).
    return f'dependencies:\n  - python=3.11\n  - pip:\n    - six\n    - "# {nonce}"\n'


@pytest.fixture
def gpu1(remote_deck):  # noqa: F811 - the fixture imported above
    deck = remote_deck
    deck.env["DECK_BUILD_CA_BUNDLE"] = CA_BUNDLE
    attach(deck)
    deck("target", "check", "gpu1", "--accept-host-key", deck.server.fingerprint, check=True)
    return deck


def prepare(deck, nonce: str) -> str:
    """The image gpu1's runconfig needs with the conda file of ``nonce``, built or found."""
    (deck.project / "aml_config" / "conda_dependencies.yml").write_text(conda(nonce))
    out = deck("prepare", "-c", "gpu1", timeout=600, check=True).out
    return out.strip().splitlines()[-1].split()[1]


def exists(ref: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", ref],
                          capture_output=True).returncode == 0


@pytest.mark.ssh
@pytest.mark.docker
def test_prune_on_a_remote_docker_host_keeps_what_runconfigs_and_kept_runs_need(gpu1):
    deck = gpu1
    a, b, c = (secrets.token_hex(4) for _ in range(3))
    ran = prepare(deck, a)
    run = run_id_of(deck("submit", "-c", "gpu1", "train.py", "--epochs", "1", "--sleep", "0",
                         timeout=300, check=True).out)
    assert deck.json("runs", "show", run)["environment_id"] == ran
    unused = prepare(deck, b)
    needed = prepare(deck, c)  # the conda file stays at c: the runconfig needs this one

    listed = deck("images", "--target", "gpu1", check=True).out
    rows = {line.split()[0]: line for line in listed.splitlines()[1:]}
    assert "runconfig gpu1" in rows[needed] and re.search(SIZE, rows[needed])
    assert rows[unused].rstrip().endswith("this") and " - " in rows[unused]
    data = deck.json("images", "--target", "gpu1")
    assert {e["environment"] for e in data if e["this_project"]} == {ran, unused, needed}

    dry = deck("store", "prune", "--target", "gpu1", check=True)
    assert unused in dry.out and ran not in dry.out and needed not in dry.out
    assert "the host's store is pruned only with --older-than" in dry.out
    assert re.search(rf"image +{re.escape(unused)} +{SIZE} +built ", dry.out)
    assert "Dry run: nothing removed" in dry.out
    assert all(exists(ref) for ref in (ran, unused, needed))

    deck("store", "prune", "--target", "gpu1", "--yes", check=True)
    assert not exists(unused) and exists(ran) and exists(needed)

    # Once its run is pruned, nothing needs the image it ran in.
    gone = deck("store", "prune", "--target", "gpu1", "--older-than", "0s", "--yes",
                check=True)
    assert run in gone.out and ran in gone.out
    assert not exists(ran) and exists(needed)
    assert deck.json("runs", "list") == []


@pytest.mark.ssh
@pytest.mark.docker
def test_images_prune_with_a_target_asks_and_removes_only_unneeded_images(gpu1):
    deck = gpu1
    old = prepare(deck, secrets.token_hex(4))
    needed = prepare(deck, secrets.token_hex(4))
    unasked = deck("images", "prune", "--target", "gpu1")
    assert unasked.returncode == 2 and "--yes" in unasked.err and exists(old)
    result = deck("images", "prune", "--target", "gpu1", "--yes", check=True)
    assert old in result.out and "Removed 1 of 1" in result.out
    assert not exists(old) and exists(needed)


# -- the head node's executor environments --------------------------------------------------

def fake_environment(server, name: str, built: float) -> None:
    """An executor venv as a build leaves it (marker and archive), built at ``built``."""
    envs = server.home / ".launchdeck" / "envs"
    folder = envs / name
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "python").write_bytes(b"x" * 50_000)
    (folder / ".deck-ready").write_text("")
    (envs / f"{name}.tar.gz").write_bytes(b"y" * 20_000)
    for path in (folder / ".deck-ready", folder):
        os.utime(path, (built, built))
    subprocess.run(["chown", "-R", server.user, str(folder), str(envs / f"{name}.tar.gz")],
                   check=True)


@pytest.mark.spark
def test_executor_environments_on_the_head_node_are_listed_and_pruned(
        deck, tmp_path, ssh_server, spark_cluster):
    home_dir = tmp_path / "home"
    (home_dir / ".ssh").mkdir(parents=True)
    deck.env["HOME"] = str(home_dir)
    deck("target", "attach", "cluster", "--name", "spark1", "--address", ssh_server.host,
         "--port", str(ssh_server.port), "--username", ssh_server.user,
         "--identity-file", str(ssh_server.client_key), "--master", spark_cluster.master,
         "--spark-submit", str(spark_cluster.spark_submit), check=True)
    deck("target", "check", "spark1", "--accept-host-key", ssh_server.fingerprint, check=True)
    (deck.project / "aml_config" / "conda_dependencies.yml").write_text(
        "dependencies:\n  - pip:\n    - six\n")
    needed = deck("prepare", "-c", "spark1", timeout=600, check=True).out.split()[-5]
    long_ago = time.time() - 3000 * 86400
    envs = ssh_server.home / ".launchdeck" / "envs"
    os.utime(envs / needed / ".deck-ready", (long_ago, long_ago))  # old, but needed
    idle, busy = (f"deadbeef{secrets.token_hex(8)}" for _ in range(2))
    fake_environment(ssh_server, idle, long_ago)
    fake_environment(ssh_server, busy, long_ago)
    # A process on the head node that uses the archive, as spark-submit does.
    user = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()",
                             f"{envs}/{busy}.tar.gz#environment"], stdin=subprocess.PIPE)
    try:
        listed = deck("images", "--target", "spark1", check=True).out
        rows = {line.split()[0]: line for line in listed.splitlines()[1:]}
        assert "runconfig spark1" in rows[needed]
        assert re.search(rf"{idle} +{SIZE}", rows[idle])

        dry = deck("store", "prune", "--target", "spark1", "--older-than", "2000d",
                   check=True)
        assert idle in dry.out and busy in dry.out and needed not in dry.out
        assert (envs / idle).is_dir()

        done = deck("store", "prune", "--target", "spark1", "--older-than", "2000d", "--yes")
        assert done.returncode == 1 and f"{busy}: in use on the head node" in done.err
        assert not (envs / idle).exists() and not (envs / f"{idle}.tar.gz").exists()
        assert (envs / busy).is_dir() and (envs / f"{needed}.tar.gz").is_file()

        # A prepare that finds it makes it the most recently used: a budget removes it last.
        deck("prepare", "-c", "spark1", timeout=600, check=True)
        assert (envs / needed / ".deck-ready").stat().st_mtime > time.time() - 3600
    finally:
        user.stdin.close()
        user.wait(timeout=30)
        subprocess.run(["rm", "-rf", *(str(envs / f"{name}{end}") for name in (busy, idle)
                                       for end in ("", ".tar.gz", ".lock"))])
