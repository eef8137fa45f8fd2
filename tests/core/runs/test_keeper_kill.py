"""A keeper killed with SIGKILL at any moment loses nothing: the revived keeper gives the run's
true final state, exit code, outputs, metrics and every log line exactly once (local target)."""

from __future__ import annotations

import os
import random
import signal
import time

from tests.fixtures.projects import run_id_of

LINES = 40

SCRIPT = f"""\
import sys, time
import deckrun
for i in range({LINES}):
    print("line", i, flush=True)
    deckrun.log("step", i)
    time.sleep(0.05)
open("outputs/result.txt", "w").write("done")
sys.exit(3)
"""

RUNCONFIG = "ArgumentVector:\n  - $file\nTarget: local\nFramework: Python\n"


def keeper_of(project, run_id: str) -> tuple[int | None, str]:
    """The run's keeper pid and state, read from history without reviving anything."""
    from launchdeck.core.history.store import HistoryStore

    history = HistoryStore(project / ".deck" / "history.db")
    try:
        run = history.get_run(run_id)
        return run.keeper_pid, str(run.status)
    finally:
        history.close()


def test_a_keeper_killed_at_random_moments_is_revived_and_gets_every_thing_right(deck,
                                                                                   project):
    (project / "count.py").write_text(SCRIPT)
    (project / "aml_config" / "plain.runconfig").write_text(RUNCONFIG)
    rng = random.Random(os.environ.get("DECK_CHAOS_SEED", "11.2"))
    expected_log = "".join(f"line {i}\n" for i in range(LINES))
    killed_in = []
    for attempt in range(10):
        # Half the tries around queueing and launch, half while the script runs (about 2 s).
        delay = rng.uniform(0.0, 0.4) if attempt % 2 == 0 else rng.uniform(0.4, 2.5)
        result = deck("submit", "--detach", "-c", "plain", "count.py")
        assert result.returncode == 0, result.out + result.err
        run_id = run_id_of(result.out)
        what = f"try {attempt}: keeper of {run_id} killed {delay:.2f} s after submit"
        time.sleep(delay)  # the chaos itself: a random moment, not a wait for a result
        pid, state = keeper_of(project, run_id)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
                killed_in.append(state)
            except ProcessLookupError:
                pass  # it had finished already
        deck("runs", "list", check=True)  # any look at history revives a dead keeper
        run = deck.wait_for(run_id, timeout=120)
        assert (run["status"], run["exit_code"]) == ("Failed", 3), (what, run)
        assert run["artifacts"] == ["outputs/result.txt"], (what, run)
        assert deck("logs", run_id, check=True).out == expected_log, what
        assert run["metrics"]["step"] == list(range(LINES)), (what, run["metrics"])
    print(f"keepers killed in states: {killed_in}")  # shown with -s
    # The tries must have hit live keepers, not only finished runs.
    assert len(killed_in) >= 5, killed_in
