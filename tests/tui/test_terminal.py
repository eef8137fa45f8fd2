"""End to end in a real terminal: tmux runs ``deck``; keys go in with send-keys, the screen
comes back with capture-pane. Submit a run, watch it complete, open its log, quit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.fixtures.waiting import until


pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


class Terminal:
    """One tmux session on a private server, running one command."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str],
                 size=(100, 30)) -> None:
        self.socket = f"deck-test-{uuid.uuid4().hex[:8]}"
        self.env = env
        exports = " ".join(f"{k}={_quote(v)}" for k, v in env.items())
        line = f"cd {_quote(str(cwd))} && env {exports} " + " ".join(map(_quote, command))
        self.tmux("new-session", "-d", "-s", "deck", "-x", str(size[0]), "-y", str(size[1]),
                  line)

    def tmux(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=10)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "deck", *keys)

    def text(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "deck", "-l", "--", *keys)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "deck").stdout

    def wait_for(self, text: str, timeout: float = 30) -> str:
        return self.wait_until(lambda screen: text in screen, repr(text), timeout)

    def wait_until(self, shown, what: str, timeout: float = 30) -> str:
        """The first screen for which ``shown(screen)`` holds (a capture may be half painted)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if shown(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{what} not on screen after {timeout} s:\n{self.screen()}")

    def deck_pid(self) -> int:
        """The dashboard's process: the pane's process, or its child when a shell runs it."""
        pid = int(self.tmux("display-message", "-p", "-t", "deck", "#{pane_pid}").stdout)
        for _ in range(3):
            if "python" in Path(f"/proc/{pid}/comm").read_text():
                return pid
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            pid = int(children[0])
        raise AssertionError("no dashboard process in the pane")

    def alive(self) -> bool:
        return self.tmux("has-session", "-t", "deck").returncode == 0

    def close(self) -> None:
        self.tmux("kill-server")


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def deck_terminal(project, size=(100, 30), **env) -> Terminal:
    """``deck`` on ``project`` in a fresh tmux server; ``env`` adds to its environment."""
    base = {"TERM": "xterm-256color", "TZ": "UTC",
            "XDG_CONFIG_HOME": str(Path(project).parent / "config"),
            "XDG_STATE_HOME": str(Path(project).parent / "state"), "LANG": "C.UTF-8",
            "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return Terminal([sys.executable, "-m", "launchdeck.cli.main"], Path(project), base | env,
                    size=size)


@pytest.fixture
def terminal(project):
    term = deck_terminal(project)
    yield term
    term.close()


def test_submit_watch_open_log_quit(terminal):
    terminal.wait_for("0 runs")
    terminal.keys("s")
    terminal.wait_for("Submit a run")
    terminal.wait_for("train.py --epochs 5")  # the script was found, the command previewed
    terminal.keys("Tab", "Tab")
    terminal.text("--epochs 4 --sleep 0.3")
    terminal.wait_for("train.py --epochs 5 --epochs 4 --sleep 0.3")
    terminal.keys("C-s")
    terminal.wait_for("Submitted")
    terminal.wait_for("▶ Running", timeout=30)
    screen = terminal.wait_for("✓ Completed", timeout=60)
    assert "loss=" in screen  # the first metric's last value
    terminal.keys("Enter")
    screen = terminal.wait_for("model written to outputs/model.json")
    assert "training for 4 epochs" in screen and "epoch 4: loss=" in screen
    terminal.keys("2")
    terminal.wait_for("values")  # the metrics tab's table of last values
    terminal.keys("Escape")
    terminal.wait_for("1 runs")
    terminal.keys("q")
    until(lambda: not terminal.alive(), timeout=60, what="the dashboard to quit")


@pytest.mark.parametrize("end", ["kill -9", "terminal closed"])
def test_the_dashboard_ending_leaves_the_run_going(terminal, project, end):
    from launchdeck.core.history.store import HistoryStore
    from launchdeck.core.runs.state import RunState

    terminal.wait_for("0 runs")
    terminal.keys("s")
    terminal.wait_for("train.py --epochs 5")
    terminal.keys("Tab", "Tab")
    terminal.text("--epochs 20 --sleep 0.1")
    terminal.keys("C-s")
    terminal.wait_for("▶ Running", timeout=30)
    if end == "kill -9":
        os.kill(terminal.deck_pid(), 9)  # the dashboard alone, with no chance to clean up
    else:
        terminal.close()  # the terminal goes away: SIGHUP to everything in the pane
    history = HistoryStore(Path(project) / ".deck" / "history.db")
    run = until(lambda: next((r for r in history.list_runs() if r.status.is_terminal), None),
                timeout=120, what="the run to end")
    assert run.status is RunState.COMPLETED


def test_keys_typed_ahead_land_where_they_were_meant(terminal, project):
    from launchdeck.core.history.store import HistoryStore
    from launchdeck.core.project import Project
    from launchdeck.core.runs.submit import submit

    run = submit(Project(Path(project)), "local", str(Path(project) / "train.py"),
                 ("--epochs", "1", "--sleep", "0"))
    terminal.wait_for("✓ Completed", timeout=60)
    # Bursts, as a slow link delivers them: a command holding an "r" (rerun) and an "s"
    # (submit), then a filter holding both.
    terminal.text(":runconfigs\r")
    terminal.wait_for("run configurations (aml_config/*.runconfig)")
    terminal.text(":runs\r")
    terminal.wait_for("1 runs")
    terminal.text("/status:failed,running")
    terminal.wait_for("0 shown by /status:failed,running")
    terminal.keys("Escape")
    terminal.wait_for("1 runs · sort")
    history = HistoryStore(Path(project) / ".deck" / "history.db")
    assert [r.run_id for r in history.list_runs()] == [run.run_id]  # no rerun, no submit


def test_an_artifact_opens_in_the_pager_and_the_dashboard_comes_back(project):
    from launchdeck.core.project import Project
    from launchdeck.core.runs.submit import submit

    submit(Project(Path(project)), "local", str(Path(project) / "train.py"),
           ("--epochs", "1", "--sleep", "0"))
    terminal = deck_terminal(project, PAGER="less")
    try:
        terminal.wait_for("✓ Completed", timeout=60)
        terminal.keys("Enter")
        terminal.wait_for("model written to outputs/model.json")
        terminal.keys("3")
        terminal.wait_for("o Open")
        terminal.keys("o")
        # The file, shown by less on the whole terminal: the dashboard gave the terminal up.
        terminal.wait_until(lambda screen: '"loss":' in screen and "1 Log" not in screen,
                            "the artifact in less, alone")
        terminal.keys("q")
        # Back and repainted whole. less may show the file's path too, so wait for the
        # dashboard's own tabs with the file's text gone.
        terminal.wait_until(lambda screen: "3 Artifacts" in screen and "outputs/model.json"
                            in screen and '"loss":' not in screen, "the dashboard, repainted")
        terminal.keys("Escape")
        terminal.wait_for("1 runs")  # and still answering keys
    finally:
        terminal.close()


SLEEPER = "import time\nprint('sleeper up', flush=True)\ntime.sleep(600)\n"


@pytest.mark.docker
def test_a_shell_in_a_running_container_and_back(project, docker_engine):
    """s on a running Docker run: the dashboard gives the terminal to a shell inside the
    run's container (its hostname is the container id), and takes it back on exit."""
    from launchdeck.core.project import Project
    from launchdeck.core.runs.control import request_cancel
    from launchdeck.core.runs.submit import submit

    deck_project = Project(Path(project))
    (deck_project.config_dir / "conda_dependencies.yml").write_text(
        "name: env\ndependencies:\n  - python=3.11\n")
    (Path(project) / "sleeper.py").write_text(SLEEPER)
    run = submit(deck_project, "docker", str(Path(project) / "sleeper.py"), ())
    terminal = deck_terminal(project, size=(80, 24))
    try:
        terminal.wait_for("Running", timeout=300)
        terminal.keys("Enter")
        terminal.wait_for("sleeper up", timeout=120)
        terminal.wait_for("s Shell")
        container = deck_project.history.get_run(run.run_id).external_id
        terminal.keys("s")
        terminal.wait_until(lambda s: any(line.strip() == "#" for line in s.splitlines()),
                            "the container's sh prompt (root)")
        terminal.text("echo inside-$((6*7)) $(hostname)")
        terminal.keys("Enter")
        screen = terminal.wait_for("inside-42")
        assert container[:12] in screen and "1 Log" not in screen  # the terminal is the shell's
        terminal.text("exit")
        terminal.keys("Enter")
        terminal.wait_until(lambda s: "1 Log" in s and "sleeper up" in s and "inside-42" not in s,
                            "the dashboard, repainted")
        terminal.keys("Escape")
        terminal.wait_for("1 runs")  # still answering keys
    finally:
        terminal.close()
        request_cancel(deck_project, run.run_id)


@pytest.mark.ssh
@pytest.mark.docker
def test_a_shell_in_a_remote_docker_container_and_back(project, docker_engine, ssh_server,
                                                        tmp_path, monkeypatch):
    """The same on a remote Docker target: ssh -t to the host with the target's port, user,
    key and deck's known_hosts, then docker exec there."""
    from launchdeck.core.config.compute import write_compute
    from launchdeck.core.config.runconfig import create_runconfig
    from launchdeck.core.project import Project
    from launchdeck.core.runs.control import request_cancel
    from launchdeck.core.runs.submit import submit

    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    (home / ".ssh" / "known_hosts").write_text(ssh_server.known_hosts_line())
    monkeypatch.setenv("HOME", str(home))  # the keeper's links read this known_hosts too
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    deck_project = Project(Path(project))
    (deck_project.config_dir / "conda_dependencies.yml").write_text(
        "name: env\ndependencies:\n  - python=3.11\n")
    write_compute(deck_project.compute_path("gpu1"), type="remotedocker",
                  base_docker_image=docker_engine, address=ssh_server.host,
                  port=ssh_server.port, username=ssh_server.user,
                  identity_file=str(ssh_server.client_key))
    create_runconfig(deck_project.runconfig_path("gpu1"), target="gpu1",
                     conda_dependencies_file="aml_config/conda_dependencies.yml",
                     prepare_environment=True)
    (Path(project) / "sleeper.py").write_text(SLEEPER)
    run = submit(deck_project, "gpu1", str(Path(project) / "sleeper.py"), ())
    terminal = deck_terminal(project, size=(80, 24), HOME=str(home))
    try:
        terminal.wait_for("Running", timeout=300)
        terminal.keys("Enter")
        terminal.wait_for("sleeper up", timeout=120)
        terminal.wait_for("s Shell")
        container = deck_project.history.get_run(run.run_id).external_id
        terminal.keys("s")
        terminal.wait_until(lambda s: any(line.strip() == "#" for line in s.splitlines()),
                            "the container's sh prompt (root)", timeout=60)
        terminal.text("echo inside-$((6*7)) $(hostname)")
        terminal.keys("Enter")
        screen = terminal.wait_for("inside-42")
        assert container[:12] in screen and "1 Log" not in screen
        terminal.text("exit")
        terminal.keys("Enter")
        terminal.wait_until(lambda s: "1 Log" in s and "sleeper up" in s and "inside-42" not in s,
                            "the dashboard, repainted")
    finally:
        terminal.close()
        request_cancel(deck_project, run.run_id)


def test_tab_in_the_prompt_completes_and_never_leaves_it_at_80x24(project):
    terminal = deck_terminal(project, size=(80, 24))
    try:
        terminal.wait_for("0 runs")
        terminal.text(":targ")
        terminal.keys("Tab")
        # The prompt's last line, not the list of views it shows (":targets" is there at once).
        terminal.wait_until(lambda s: s.rstrip().splitlines()[-1].strip().startswith("targets"),
                            "targets completed in the prompt")
        terminal.keys("Escape")  # closes it, empty: nothing typed stays on screen
        terminal.wait_until(lambda s: "targets" not in s.rstrip().splitlines()[-1],
                            "the prompt gone")
        terminal.text(":c")
        terminal.keys("Tab", "Enter")
        terminal.wait_for("run configurations (aml_config/*.runconfig)")
        terminal.text(":")
        terminal.keys("Up")  # the last command again
        terminal.wait_until(lambda s: s.rstrip().splitlines()[-1].strip().startswith("configs"),
                            "configs recalled")
        terminal.keys("Escape")
        # Next keys only once escape has acted: a terminal sends ESC then ":" as alt+":".
        terminal.wait_until(lambda s: "configs" not in s.rstrip().splitlines()[-1],
                            "the prompt closed")
        terminal.text(":t\r")
        terminal.wait_for("compute targets (aml_config/*.compute)")
    finally:
        terminal.close()
