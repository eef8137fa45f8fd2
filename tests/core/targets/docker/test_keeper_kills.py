"""kill -9 of a docker run's keeper at any moment: the revived keeper ends the run truly.

Real `deck submit`, real keepers, real engine. Each try kills the keeper at one of six
moments (queued, preparing, just prepared, while the script runs, right around its exit,
while outputs are collected), a little later than its trigger by a random amount, then revives
it the way a user does (`deck logs RUN -f`). The run must end Completed with exit code 0, its
outputs whole, every metric and every log line exactly once. ``DECK_KILL_TRIES`` sets the
number of tries (default 12: each moment twice).
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import time

import pytest

from tests.fixtures.projects import run_id_of

pytestmark = pytest.mark.docker

NO_PIP = "name: env\ndependencies:\n  - python=3.11\n"
LINES = 30
TRIES = int(os.environ.get("DECK_KILL_TRIES", "12"))  # each moment twice
MOMENTS = ("queued", "preparing", "prepared", "running", "around exit", "collecting outputs")

SCRIPT = """\
import hashlib, os, random, time
import deckrun
for i in range(%d):
    print("line %%d" %% i, flush=True)
    deckrun.log("i", i)
    time.sleep(0.03)
data = random.Random(7).randbytes(24 << 20)
with open("outputs/big.bin", "wb") as f:
    f.write(data)
print("sha256", hashlib.sha256(data).hexdigest(), flush=True)
""" % LINES
DIGEST = hashlib.sha256(random.Random(7).randbytes(24 << 20)).hexdigest()


def _history(project):
    from launchdeck.core.history.store import HistoryStore

    return HistoryStore(project / ".deck" / "history.db")


def _wait(condition, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def kill_keeper_at(deck, run_id: str, moment: str, rng: random.Random) -> str:
    """Kill the run's keeper once ``moment`` came (plus up to 0.3 s); say what was killed."""
    project = deck.project
    run_dir = project / ".deck" / "runs" / run_id
    log = run_dir / "output.log"
    history = _history(project)

    def text() -> str:
        return log.read_text(errors="replace") if log.exists() else ""
    try:
        def keeper():
            return history.get_run(run_id).keeper_pid
        _wait(lambda: keeper() is not None, "the keeper's pid")
        if moment == "preparing":
            _wait(lambda: str(history.get_run(run_id).status) != "Queued", "Preparing")
        elif moment == "prepared":  # its prepare said so; the launch has not been recorded
            _wait(lambda: "nothing to build" in text(), "the prepare line")
        elif moment == "running":
            _wait(lambda: "line 5\n" in text() or history.get_run(run_id).status.is_terminal,
                  "line 5")
        elif moment == "around exit":
            _wait(lambda: f"line {LINES - 1}\n" in text()
                  or history.get_run(run_id).status.is_terminal, "the last line")
        elif moment == "collecting outputs":
            _wait(lambda: (run_dir / "outputs").exists()
                  or history.get_run(run_id).status.is_terminal, "the collection")
        exact = moment in ("preparing", "prepared")
        time.sleep(0 if exact else rng.uniform(0, 0.05) if moment == "collecting outputs"
                   else rng.uniform(0, 0.3))
        state = history.get_run(run_id).status
        try:
            os.kill(keeper(), signal.SIGKILL)
        except ProcessLookupError:
            return f"{moment}: keeper already gone ({state})"
        return f"{moment}: killed in state {state}"
    finally:
        history.close()


def assert_the_run_is_whole(deck, run_id: str, prepare_line: str | None) -> None:
    follow = deck("logs", run_id, "-f", timeout=300)  # revives the keeper, as a user would
    assert follow.returncode == 0, follow.out + follow.err
    run = deck.json("runs", "show", run_id)
    assert run["status"] == "Completed", run
    assert run["exit_code"] == 0
    assert run["metrics"]["i"] == list(range(LINES))
    assert run["artifacts"] == ["outputs/big.bin"]
    outputs = deck.project / ".deck" / "runs" / run_id / "outputs"
    assert hashlib.sha256((outputs / "big.bin").read_bytes()).hexdigest() == DIGEST
    log = (deck.project / ".deck" / "runs" / run_id / "output.log").read_text()
    script = "".join(f"line {i}\n" for i in range(LINES)) + f"sha256 {DIGEST}\n"
    if prepare_line is None:
        assert log == script
    else:
        assert log.startswith(prepare_line) and log.count(prepare_line) == 1, log
        assert log[log.index("\n") + 1:] == script, log


def kill_tries(deck, runconfig: str, prepare_line: str | None, seed: int) -> list[str]:
    rng = random.Random(seed)
    (deck.project / "big.py").write_text(SCRIPT)
    seen = []
    for attempt in range(TRIES):
        moment = MOMENTS[attempt % len(MOMENTS)]
        run_id = run_id_of(deck("submit", "-c", runconfig, "--detach", "big.py",
                                check=True).out)
        try:
            seen.append(kill_keeper_at(deck, run_id, moment, rng))
            assert_the_run_is_whole(deck, run_id, prepare_line)
        except AssertionError as exc:
            raise AssertionError(f"try {attempt} ({seen[-1] if seen else moment}): "
                                 f"{exc}") from None
        finally:
            subprocess.run(["sh", "-c", "docker rm -f $(docker ps -aq --filter "
                            f"label=launchdeck.run_id={run_id}) 2>/dev/null"],
                           capture_output=True)
    return seen


def test_killing_a_docker_runs_keeper_at_any_moment_loses_nothing(deck, docker_engine):
    (deck.project / "aml_config" / "conda_dependencies.yml").write_text(NO_PIP)
    deck("prepare", "-c", "docker", timeout=600, check=True)
    line = deck("prepare", "-c", "docker", check=True)
    prepare_line = next(l for l in (line.out + line.err).splitlines()
                        if "nothing to build" in l) + "\n"
    seen = kill_tries(deck, "docker", prepare_line, seed=11)
    assert len(seen) == TRIES, seen
    print(seen)
