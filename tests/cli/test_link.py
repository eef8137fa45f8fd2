"""Several deck processes, one SSH connection per host: `deck submit --detach` x 5, runs that
outlive a killed link process, and `deck link status|stop`; against the real sshd on
127.0.0.1:2222 (and the real Docker Engine behind it for remotedocker)."""

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_remote_docker import NO_PIP
from tests.fixtures.projects import run_id_of
from tests.fixtures.waiting import until

pytestmark = pytest.mark.ssh


@pytest.fixture
def linked_deck(deck, link_home, ssh_server):
    """`deck` with its own HOME (trusting the test sshd) and runtime folder."""
    deck.env.update(HOME=os.environ["HOME"], XDG_RUNTIME_DIR=os.environ["XDG_RUNTIME_DIR"])
    for name in ("SSH_AUTH_SOCK", "DECK_SSH_LINK", "DECK_LINK_IDLE_SECONDS"):
        deck.env.pop(name, None)
    deck.server, deck.home = ssh_server, link_home
    deck.links = Path(os.environ["XDG_RUNTIME_DIR"]) / "launchdeck"
    return deck


def attach(deck, kind: str, name: str, *extra: str) -> None:
    s = deck.server
    deck("target", "attach", kind, "--name", name, "--address", s.host, "--port", str(s.port),
         "--username", s.user, "--identity-file", str(s.client_key), *extra, check=True)


def links(deck) -> list[dict]:
    return [link for link in deck.json("link", "status") if link["answers"]]


def ssh_connections(deck) -> int:
    return len({port for _pid, port in deck.server.connections_from(deck.home)})


CHATTY = ("import sys, time\nfor i in range(60):\n"
          "    print('run %s line %d' % (sys.argv[1], i), flush=True)\n    time.sleep(0.05)\n")


def whole_log(deck, run_id: str, n: str, lines: int) -> bool:
    log = (deck.project / ".deck" / "runs" / run_id / "output.log").read_bytes()
    expected = b"".join(b"run %s line %d\n" % (n.encode(), i) for i in range(lines))
    return log.endswith(expected) and log.count(b" line 0\n") == 1


@pytest.mark.docker
def test_five_detached_submits_share_one_ssh_connection(linked_deck, docker_engine):
    deck = linked_deck
    (deck.project / "aml_config" / "conda_dependencies.yml").write_text(NO_PIP)
    attach(deck, "remotedocker", "gpu1", "--base-image", docker_engine, "--max-runs", "5")
    deck("prepare", "-c", "gpu1", timeout=600, check=True)
    (deck.project / "chatty.py").write_text(CHATTY)
    procs = [deck.popen("submit", "-c", "gpu1", "--detach", "chatty.py", str(n))
             for n in range(5)]
    ids = {}
    for n, proc in enumerate(procs):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
        ids[str(n)] = run_id_of(out.decode())
    seen = set()

    def all_ended() -> bool:
        seen.add(ssh_connections(deck))  # sampled all along, not only at the end
        return all(_ended(deck, i) for i in ids.values())

    until(all_ended, timeout=600, what="the five runs to end")
    assert max(seen) == 1, seen
    for n, run_id in ids.items():
        assert deck.wait_for(run_id)["status"] == "Completed"
        assert whole_log(deck, run_id, n, 60)
    assert len(links(deck)) == 1


def _ended(deck, run_id: str) -> bool:
    from launchdeck.core.history.store import HistoryStore

    history = HistoryStore(deck.project / ".deck" / "history.db")
    try:
        return history.get_run(run_id).status.is_terminal
    finally:
        history.close()


def _running(deck, run_id: str) -> bool:
    run = deck.json("runs", "show", run_id)
    return run["status"] == "Running" and run["external_id"]


def test_a_run_outlives_a_killed_link_and_the_next_command_starts_one(linked_deck):
    deck = linked_deck
    attach(deck, "remote", "box")
    (deck.project / "chatty.py").write_text(CHATTY)
    run_id = run_id_of(deck("submit", "-c", "box", "--detach", "chatty.py", "k",
                            check=True).out)
    until(lambda: _running(deck, run_id), timeout=300, what="the run to run")
    until(lambda: b"line 5\n" in (deck.project / ".deck" / "runs" / run_id /
                                   "output.log").read_bytes(),
          timeout=120, what="the first lines")
    [first] = links(deck)
    os.kill(first["pid"], signal.SIGKILL)
    run = deck.wait_for(run_id, timeout=300)
    assert run["status"] == "Completed", run
    assert whole_log(deck, run_id, "k", 60)
    # The keeper followed the run through a new link, and later commands use that one.
    [second] = links(deck)
    assert second["pid"] != first["pid"]
    checked = deck("target", "check", "box")
    assert checked.returncode == 0, checked.err
    assert [link["pid"] for link in links(deck)] == [second["pid"]]


def test_the_cli_with_a_live_link_imports_neither_asyncssh_nor_aiodocker(linked_deck):
    deck = linked_deck
    attach(deck, "remote", "box")
    deck("target", "check", "box", check=True)  # starts the link
    assert len(links(deck)) == 1
    (deck.project / "hello.py").write_text("print('hello from the host')\n")
    for args in (["target", "check", "box"], ["submit", "-c", "box", "hello.py"]):
        done = subprocess.run([*deck.argv()[:1], "-X", "importtime", *deck.argv(*args)[1:]],
                              cwd=deck.project, env=deck.env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        imported = {line.split("|")[-1].strip().split(".")[0]
                    for line in done.stderr.splitlines() if line.startswith("import time:")}
        assert "launchdeck" in imported  # importtime did report
        assert not imported & {"asyncssh", "aiodocker"}, args
        if args[0] == "submit":  # it warms the link up and follows the log with no event loop
            assert "asyncio" not in imported
    assert "hello from the host" in done.stdout


def test_link_status_and_stop(linked_deck):
    deck = linked_deck
    assert deck("link", "status", check=True).out.strip() == "no SSH link process is running"
    attach(deck, "remote", "box")
    deck("target", "check", "box", check=True)
    [link] = links(deck)
    shown = deck("link", "status", check=True).out
    assert f"{deck.server.user}@{deck.server.host}:{deck.server.port}" in shown
    assert str(link["pid"]) in shown and str(deck.links) in shown
    assert "asked 1 link process to stop" in deck("link", "stop", check=True).out
    until(lambda: not deck.json("link", "status"), timeout=60, what="the link to leave")
    until(lambda: ssh_connections(deck) == 0, timeout=60, what="its SSH connection to close")
    assert json.loads(deck("link", "status", "--json", check=True).out) == []
