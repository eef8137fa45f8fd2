"""`deck target attach/check`, `deck prepare` and `deck submit` on a remotedocker target.

The host is this machine's real sshd (127.0.0.1:2222, user deckuser) in front of the real Docker
Engine. ``HOME`` is a temp folder, so ~/.ssh/known_hosts and ~/.ssh/config are the test's own.
"""

import json
import os
import pty
import secrets
import subprocess
import time

import pytest

from tests.core.targets.docker.test_secrets import assert_the_secret_stays_in_the_script, \
    use_keyring_secret
from tests.core.targets.docker.test_remote import Relay, known_line
from tests.fixtures.projects import run_id_of
from tests.fixtures.waiting import until

pytestmark = [pytest.mark.ssh, pytest.mark.docker]

NO_PIP = "name: env\ndependencies:\n  - python=3.11\n"


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    (path / ".ssh").mkdir(parents=True, mode=0o700)
    return path


@pytest.fixture
def remote_deck(deck, home, docker_engine, ssh_server):
    """`deck` in a sample project whose HOME is ``home``; environments need no network."""
    deck.env["HOME"] = str(home)
    deck.env.pop("SSH_AUTH_SOCK", None)
    (deck.project / "aml_config" / "conda_dependencies.yml").write_text(NO_PIP)
    deck.base_image = docker_engine
    deck.server = ssh_server
    return deck


def attach(deck, *, address="127.0.0.1", port=None):
    s = deck.server
    args = ["target", "attach", "remotedocker", "--name", "gpu1", "--address", address,
            "--base-image", deck.base_image]
    if address == "127.0.0.1":
        args += ["--port", str(port or s.port), "--username", s.user,
                 "--identity-file", str(s.client_key)]
    deck(*args, check=True)


def test_attach_check_prepare_submit_end_to_end(remote_deck, home):
    deck, server = remote_deck, remote_deck.server
    attach(deck)
    refused = deck("target", "check", "gpu1")
    assert refused.returncode == 2
    assert server.fingerprint in refused.err and "--accept-host-key" in refused.err
    assert not (home / ".ssh/known_hosts").exists()

    checked = deck("target", "check", "gpu1", "--accept-host-key", server.fingerprint)
    assert checked.returncode == 0, checked.err
    assert f"host_key: {server.fingerprint}" in checked.out
    assert "engine_version: " in checked.out and "free_disk_docker: " in checked.out
    assert (home / ".ssh/known_hosts").read_text() == server.known_hosts_line()

    prepared = deck("prepare", "-c", "gpu1", timeout=600)
    assert prepared.returncode == 0, prepared.err
    again = deck("prepare", "-c", "gpu1")
    assert again.returncode == 0 and "nothing to build" in again.out + again.err

    result = deck("submit", "-c", "gpu1", "train.py", "--epochs", "3", "--sleep", "0",
                  timeout=300)
    assert result.returncode == 0, result.err
    assert "training for 3 epochs" in result.out
    run = deck.json("runs", "show", run_id_of(result.out))
    assert run["status"] == "Completed" and run["target"] == "gpu1"
    assert len(run["metrics"]["loss"]) == 3 and run["metrics"]["epochs"] == [[3, "done"]]
    assert run["artifacts"] == ["outputs/model.json"]
    assert run["disconnected_since"] is None
    # the image the run used, as `deck prepare` built it on the host's engine
    assert str(run["environment_id"]).startswith("deck-env:"), run
    assert subprocess.run(["docker", "image", "inspect", run["environment_id"]],
                          capture_output=True).returncode == 0


def test_check_asks_on_a_terminal_before_trusting_a_host_key(remote_deck, home):
    deck = remote_deck
    attach(deck)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(deck.argv("target", "check", "gpu1"), cwd=deck.project,
                            env=deck.env, stdin=follower, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    os.close(follower)
    os.write(leader, b"y\n")
    out, err = proc.communicate(timeout=60)
    os.close(leader)
    assert proc.returncode == 0, err.decode()
    assert deck.server.fingerprint in err.decode() and "[y/N]" in err.decode()
    assert (home / ".ssh/known_hosts").read_text() == deck.server.known_hosts_line()


def test_ssh_config_alias_through_a_proxy_jump(remote_deck, home):
    deck, s = remote_deck, remote_deck.server
    (home / ".ssh/config").write_text(
        f"Host jumpbox\n  HostName 127.0.0.1\n  Port {s.port}\n  User {s.user}\n"
        f"  IdentityFile {s.client_key}\n"
        f"Host gpu-alias\n  HostName 127.0.0.1\n  Port {s.port}\n  User {s.user}\n"
        f"  IdentityFile {s.client_key}\n  ProxyJump jumpbox\n")
    (home / ".ssh/known_hosts").write_text(s.known_hosts_line())
    attach(deck, address="gpu-alias")
    compute = (deck.project / "aml_config/gpu1.compute").read_text()
    assert "port" not in compute.replace("# The SSH port", "")  # ~/.ssh/config decides
    checked = deck("target", "check", "gpu1")
    assert checked.returncode == 0, checked.err
    assert f"ssh: deckuser@127.0.0.1:{s.port}" in checked.out
    deck("prepare", "-c", "gpu1", timeout=600, check=True)
    result = deck("submit", "-c", "gpu1", "train.py", "--epochs", "1", "--sleep", "0")
    assert result.returncode == 0, result.err


def test_a_keeper_never_accepts_an_unknown_host_key(remote_deck, home):
    deck = remote_deck
    attach(deck)
    result = deck("submit", "-c", "gpu1", "train.py")
    assert result.returncode != 0
    run = deck.json("runs", "show", run_id_of(result.out))
    assert run["status"] == "Failed"
    assert "deck target check gpu1" in run["error"] and deck.server.fingerprint in run["error"]
    assert not (home / ".ssh/known_hosts").exists()


def test_a_keyring_secret_is_in_no_container_config_ps_or_file(system_keyring, remote_deck,
                                                                home):
    deck = remote_deck
    (home / ".ssh/known_hosts").write_text(deck.server.known_hosts_line())
    attach(deck)
    secret = use_keyring_secret(deck, system_keyring, "gpu1")
    deck("prepare", "-c", "gpu1", timeout=600, check=True)
    assert_the_secret_stays_in_the_script(deck, "gpu1", secret)


def test_second_submit_sends_only_the_changed_file(remote_deck, home):
    deck, project = remote_deck, remote_deck.project
    (home / ".ssh/known_hosts").write_text(deck.server.known_hosts_line())
    for i in range(1000):
        path = project / "pkg" / f"m{i:04d}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"VALUE = {i}  # {'x' * 200}\n")
    (project / "job.py").write_text("import pkg.m0007 as m\nprint(m.VALUE)\n")
    attach(deck)
    deck("prepare", "-c", "gpu1", timeout=600, check=True)
    first = deck("submit", "-c", "gpu1", "job.py")
    assert first.returncode == 0 and "\n7\n" in first.out, first.err
    changed = project / "pkg" / "m0007.py"
    changed.write_text(f"VALUE = 'changed'  # {secrets.token_hex(2500)}\n")
    second = deck("submit", "-c", "gpu1", "job.py")
    assert second.returncode == 0 and "\nchanged\n" in second.out, second.err
    sync = json.loads((project / ".deck/runs" / run_id_of(second.out) / "target/sync.json")
                      .read_text())
    assert sync["files_sent"] == 1 and sync["blobs_skipped"] >= 1000
    assert sync["bytes_sent"] <= changed.stat().st_size + 64 * 1024


def test_a_run_outlives_a_cut_link_and_keeps_every_line(remote_deck, home):
    deck, s = remote_deck, remote_deck.server
    relay = Relay(s.port)
    relay.start()
    try:
        (home / ".ssh/known_hosts").write_text(known_line(s, relay.port))
        attach(deck, port=relay.port)
        (deck.project / "count.py").write_text(
            "import time\nfor i in range(150):\n    print('line %d' % i, flush=True)\n"
            "    time.sleep(0.05)\n")
        deck("prepare", "-c", "gpu1", timeout=600, check=True)
        run_id = run_id_of(deck("submit", "-c", "gpu1", "--detach", "count.py",
                                check=True).out)
        log = deck.project / ".deck/runs" / run_id / "output.log"
        deadline = time.monotonic() + 60
        while b"line 20\n" not in (log.read_bytes() if log.exists() else b""):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        relay.cut()
        run = until(lambda: (r := deck.json("runs", "show", run_id))["disconnected_since"] and r,
                    what="the run to show the lost link")
        assert run["status"] == "Running"
        relay.start()
        run = deck.wait_for(run_id, timeout=90)
        assert run["status"] == "Completed", run
        assert run["disconnected_since"] is None
        assert log.read_bytes().endswith(b"".join(b"line %d\n" % i for i in range(150)))
        assert log.read_bytes().count(b"line 0\n") == 1
    finally:
        relay.cut()


@pytest.mark.parametrize("command", [("target", "check", "gpu1"), ("prepare", "-c", "gpu1")],
                         ids=["check", "prepare"])
def test_password_is_asked_on_a_terminal_and_never_written(remote_deck, home, command):
    deck, s = remote_deck, remote_deck.server
    (home / ".ssh/known_hosts").write_text(s.known_hosts_line())
    deck("target", "attach", "remotedocker", "--name", "gpu1", "--address", "127.0.0.1",
         "--port", str(s.port), "--username", s.user, "--base-image", deck.base_image,
         check=True)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(deck.argv(*command), cwd=deck.project,
                            env=deck.env, stdin=follower, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    os.close(follower)
    prompt = b""
    while b"Password for" not in prompt:  # getpass flushes what was typed before it asked
        chunk = os.read(proc.stderr.fileno(), 1024)
        assert chunk, prompt
        prompt += chunk
    os.write(leader, s.password.encode() + b"\n")
    out, err = proc.communicate(timeout=600)
    os.close(leader)
    assert proc.returncode == 0, err.decode()
    assert (f"host_key: {s.fingerprint}" if command[0] == "target" else "Image: deck-env:") \
        in out.decode()
    for path in deck.project.rglob("*"):
        if path.is_file():
            assert s.password.encode() not in path.read_bytes(), path


def test_cancel_over_ssh(remote_deck, home):
    deck = remote_deck
    (home / ".ssh/known_hosts").write_text(deck.server.known_hosts_line())
    attach(deck)
    (deck.project / "sleepy.py").write_text(
        "import time\nprint('started', flush=True)\ntime.sleep(300)\n")
    deck("prepare", "-c", "gpu1", timeout=600, check=True)
    run_id = run_id_of(deck("submit", "-c", "gpu1", "--detach", "sleepy.py", check=True).out)
    log = deck.project / ".deck/runs" / run_id / "output.log"
    deadline = time.monotonic() + 60
    while b"started" not in (log.read_bytes() if log.exists() else b""):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    deck("cancel", run_id, check=True)
    run = deck.wait_for(run_id, timeout=60)
    assert run["status"] == "Canceled"
    # Released on the host, just after the final state was recorded.
    external = run["external_id"]
    deadline = time.monotonic() + 120
    while subprocess.run(["docker", "inspect", external], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, f"container {external} was never removed"
        time.sleep(0.1)


def test_pyspark_runs_in_a_container_on_the_remote_host(remote_deck, java_base_image):
    from tests.core.targets.docker.test_pyspark import CONDA, JOB
    from tests.fixtures.docker_engine import CA_BUNDLE

    deck, server = remote_deck, remote_deck.server
    deck.base_image = java_base_image
    deck.env["DECK_BUILD_CA_BUNDLE"] = CA_BUNDLE  # pyspark comes from the package index
    attach(deck)
    deck("target", "check", "gpu1", "--accept-host-key", server.fingerprint, check=True)
    project = deck.project
    (project / "aml_config/rspark.runconfig").write_text(
        "ArgumentVector: [$file]\nTarget: gpu1\nFramework: PySpark\n"
        "CondaDependenciesFile: aml_config/rspark_conda.yml\nPrepareEnvironment: true\n")
    (project / "aml_config/rspark_conda.yml").write_text(CONDA)
    (project / "job.py").write_text(JOB)
    (project / "helper.py").write_text("def tag(text):\n    return '[' + text + ']'\n")
    (project / "data.csv").write_text("name\nfar_away\n")
    result = deck("submit", "-c", "rspark", "job.py", "--input", "data.csv", timeout=1200)
    assert result.returncode == 0, result.out[-3000:] + result.err
    assert "master: local[*]" in result.out and "udf: ['[FarAway]']" in result.out
    run = deck.json("runs", "show", run_id_of(result.out))
    assert run["status"] == "Completed" and run["metrics"]["rows"] == [1]


def test_killing_a_remote_runs_keeper_at_any_moment_loses_nothing(remote_deck, home):
    from tests.core.targets.docker.test_keeper_kills import TRIES, kill_tries

    deck = remote_deck
    (home / ".ssh/known_hosts").write_text(deck.server.known_hosts_line())
    attach(deck)
    deck("prepare", "-c", "gpu1", timeout=600, check=True)
    line = deck("prepare", "-c", "gpu1", check=True)
    prepare_line = next(l for l in (line.out + line.err).splitlines()
                        if "nothing to build" in l) + "\n"
    seen = kill_tries(deck, "gpu1", prepare_line, seed=12)
    assert len(seen) == TRIES, seen


def test_remote_run_keeps_hard_links_sparse_files_and_lists_what_it_skipped(remote_deck, home):
    from tests.core.targets.test_outputs import assert_odd_outputs_kept, odd_outputs_run

    deck = remote_deck
    (home / ".ssh/known_hosts").write_text(deck.server.known_hosts_line())
    attach(deck)
    deck("prepare", "-c", "gpu1", timeout=600, check=True)
    run_id, run = odd_outputs_run(deck, "gpu1")
    assert_odd_outputs_kept(deck, run_id, run)
