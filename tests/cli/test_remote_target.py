"""`deck target attach remote`, `target check`, submit, cancel and keeper deaths on a remote
target (a host's own Python), against the real sshd on 127.0.0.1:2222.

``HOME`` is a temp folder, so ~/.ssh/known_hosts is the test's own.
"""

import os
import random
import signal
import time
from pathlib import Path

import pytest

from tests.core.targets.docker.test_remote import Relay, known_line
from tests.fixtures.projects import run_id_of

pytestmark = pytest.mark.ssh


@pytest.fixture
def remote_deck(deck, tmp_path, ssh_server):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    deck.env["HOME"] = str(home)
    deck.env.pop("SSH_AUTH_SOCK", None)
    deck.server = ssh_server
    deck.home = home
    return deck


def attach(deck, *extra: str) -> None:
    s = deck.server
    deck("target", "attach", "remote", "--name", "box", "--address", s.host, "--port",
         str(s.port), "--username", s.user, "--identity-file", str(s.client_key), *extra,
         check=True)


def test_attach_writes_the_compute_and_check_reports_the_hosts_python(remote_deck):
    deck = remote_deck
    attach(deck, "--python-location", "python3")
    compute = (deck.project / "aml_config" / "box.compute").read_text()
    assert "type: remote" in compute and "pythonLocation: python3" in compute
    checked = deck("target", "check", "box", "--accept-host-key", deck.server.fingerprint)
    assert checked.returncode == 0, checked.err
    assert "box (remote): reachable" in checked.out
    assert "python_version: 3." in checked.out
    facts = deck.json("target", "check", "box")
    assert facts["type"] == "remote" and facts["python_version"].startswith("3.")
    missing = deck("target", "attach", "remote", "--name", "other")
    assert missing.returncode != 0 and "--address" in missing.err
    assert "Traceback" not in missing.err


COUNT = """\
import os, sys, time, deckrun
assert os.path.isdir("outputs") and not os.listdir("outputs")
for i in range(int(sys.argv[1])):
    print("line %d" % i, flush=True)
    deckrun.log("i", i)
    time.sleep(0.02)
open("outputs/done.txt", "w").write("ok")
"""


def _trust(deck) -> None:
    (deck.home / ".ssh" / "known_hosts").write_text(deck.server.known_hosts_line())


def test_entries_before_file_are_options_of_the_hosts_python(remote_deck):
    deck = remote_deck
    _trust(deck)
    attach(deck)
    runconfig = deck.project / "aml_config" / "box.runconfig"
    runconfig.write_text(runconfig.read_text().replace("- $file", "- -O\n- $file"))
    (deck.project / "flags.py").write_text("import sys\nprint('optimize', sys.flags.optimize)\n")
    result = deck("submit", "-c", "box", "flags.py", timeout=300)
    assert result.returncode == 0, result.err
    assert "optimize 1\n" in result.out


def test_submit_runs_on_the_host_with_outputs_and_metrics(remote_deck):
    deck = remote_deck
    _trust(deck)
    attach(deck)
    (deck.project / "count.py").write_text(COUNT)
    result = deck("submit", "-c", "box", "count.py", "5", timeout=300)
    assert result.returncode == 0, result.err
    assert "".join(f"line {i}\n" for i in range(5)) in result.out
    run = deck.json("runs", "show", run_id_of(result.out))
    assert run["status"] == "Completed" and run["target"] == "box"
    assert run["metrics"]["i"] == list(range(5))
    assert run["artifacts"] == ["outputs/done.txt"]


def _keeper_pid(deck, run_id: str) -> int:
    from launchdeck.core.history.store import HistoryStore

    history = HistoryStore(deck.project / ".deck" / "history.db")
    try:
        run = history.get_run(run_id)
        return run.keeper_pid if str(run.status) == "Running" and run.external_id else 0
    finally:
        history.close()


def test_a_killed_keeper_is_revived_and_finds_the_true_end(remote_deck):
    """#11.2 on the remote target: kill -9 of the keeper at a random moment, 10 tries.

    The moment falls anywhere from the script's start to its last lines and the clean-up: a
    revived keeper must neither lose nor repeat a line, and must end the run with its true
    exit code and outputs. (A keeper killed while Preparing is the keeper's own matter: the
    target side of it, a second launch of a started run, is in tests/core/targets.)
    """
    deck = remote_deck
    _trust(deck)
    attach(deck)
    (deck.project / "count.py").write_text(COUNT)
    lines = 40
    for attempt in range(10):
        run_id = run_id_of(deck("submit", "-c", "box", "--detach", "count.py", str(lines),
                                check=True).out)
        deadline = time.monotonic() + 120
        while not (pid := _keeper_pid(deck, run_id)):
            assert time.monotonic() < deadline, f"try {attempt}: the run never ran"
            time.sleep(0.01)
        time.sleep(random.uniform(0, 1.5))  # the script takes about 1 s on an idle machine
        os.kill(pid, signal.SIGKILL)
        follow = deck("logs", run_id, "-f", timeout=300)  # revives a keeper if it is needed
        assert follow.returncode == 0, (attempt, follow.out, follow.err)
        # After prepare's lines ("environment: python3 ... as it is"), the script's.
        assert follow.out.endswith("".join(f"line {i}\n" for i in range(lines))), \
            (attempt, follow.out)
        assert follow.out.count("line 0\n") == 1, (attempt, follow.out)
        run = deck.wait_for(run_id, timeout=120)
        assert run["status"] == "Completed" and run["exit_code"] == 0, (attempt, run)
        assert run["metrics"]["i"] == list(range(lines)), attempt
        assert run["artifacts"] == ["outputs/done.txt"], attempt


DOUBLE_FORK = """\
import os, signal, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        open("grandchild.pid.tmp", "w").write(str(os.getpid()))
        os.rename("grandchild.pid.tmp", "grandchild.pid")
        while True:
            time.sleep(1)
    os._exit(0)
print("forked", flush=True)
time.sleep(600)
"""


def test_cancel_leaves_no_double_forked_grandchild_on_the_host(remote_deck):
    deck = remote_deck
    _trust(deck)
    attach(deck)
    (deck.project / "tree.py").write_text(DOUBLE_FORK)
    run_id = run_id_of(deck("submit", "-c", "box", "--detach", "tree.py", check=True).out)
    pid_file = deck.server.home / ".launchdeck/remote/runs" / run_id / "work/grandchild.pid"
    deadline = time.monotonic() + 120
    while not pid_file.exists():
        assert time.monotonic() < deadline, "the grandchild never started"
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    try:
        result = deck("cancel", run_id)
        assert result.returncode == 0, result.err
        assert deck.wait_for(run_id)["status"] == "Canceled"
        deadline = time.monotonic() + 60
        while _running(grandchild):
            assert time.monotonic() < deadline, "the grandchild outlived the cancel"
            time.sleep(0.05)
    finally:
        if _running(grandchild):
            os.kill(grandchild, signal.SIGKILL)


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_keeper_never_accepts_an_unknown_host_key(remote_deck):
    deck = remote_deck
    attach(deck)
    (deck.project / "hello.py").write_text("print('hello')\n")
    result = deck("submit", "-c", "box", "hello.py")
    assert result.returncode != 0
    run = deck.json("runs", "show", run_id_of(result.out))
    assert run["status"] == "Failed"
    assert "deck target check box" in run["error"] and deck.server.fingerprint in run["error"]
    assert not (deck.home / ".ssh" / "known_hosts").exists()
    assert "Traceback" not in result.err


def test_a_run_outlives_a_cut_link_and_keeps_every_line(remote_deck):
    deck, s = remote_deck, remote_deck.server
    relay = Relay(s.port)
    relay.start()
    try:
        (deck.home / ".ssh" / "known_hosts").write_text(known_line(s, relay.port))
        deck("target", "attach", "remote", "--name", "box", "--address", "127.0.0.1",
             "--port", str(relay.port), "--username", s.user, "--identity-file",
             str(s.client_key), check=True)
        (deck.project / "count.py").write_text(
            "import time\nfor i in range(150):\n    print('line %d' % i, flush=True)\n"
            "    time.sleep(0.05)\n")
        run_id = run_id_of(deck("submit", "-c", "box", "--detach", "count.py",
                                check=True).out)
        log = deck.project / ".deck/runs" / run_id / "output.log"
        deadline = time.monotonic() + 120
        while b"line 20\n" not in (log.read_bytes() if log.exists() else b""):
            assert time.monotonic() < deadline, "the run never got going"
            time.sleep(0.05)
        relay.cut()
        deadline = time.monotonic() + 60
        while not (run := deck.json("runs", "show", run_id))["disconnected_since"]:
            assert time.monotonic() < deadline, "the lost link was never shown"
            time.sleep(0.2)
        assert run["status"] == "Running"
        relay.start()
        run = deck.wait_for(run_id, timeout=180)
        assert run["status"] == "Completed", run
        assert run["disconnected_since"] is None
        text = log.read_text()
        assert [ln for ln in text.splitlines() if ln.startswith("line ")] == \
            [f"line {i}" for i in range(150)]
        folder = s.home / ".launchdeck/remote/runs" / run_id  # cleaned up after the end
        deadline = time.monotonic() + 60
        while folder.exists():
            assert time.monotonic() < deadline, "the run's folder stayed on the host"
            time.sleep(0.1)
    finally:
        relay.cut()


def test_a_remote_run_keeps_hard_links_sparse_files_and_lists_what_it_skipped(remote_deck):
    # The cluster target collects outputs the same way (the shared host-side runner's pack).
    from tests.core.targets.test_outputs import assert_odd_outputs_kept, odd_outputs_run

    deck = remote_deck
    _trust(deck)
    attach(deck)
    run_id, run = odd_outputs_run(deck, "box")
    assert_odd_outputs_kept(deck, run_id, run)
