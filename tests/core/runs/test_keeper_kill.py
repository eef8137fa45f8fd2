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


def keeper_pid_of(deck, run_id: str) -> int | None:
    return deck.json("runs", "show", run_id).get("keeper_pid")


def test_a_keeper_killed_at_random_moments_is_revived_and_gets_every_thing_right(deck,
                                                                                   project):
    (project / "count.py").write_text(SCRIPT)
    (project / "aml_config" / "plain.runconfig").write_text(RUNCONFIG)
    rng = random.Random(os.environ.get("DECK_CHAOS_SEED", "11.2"))
    expected_log = "".join(f"line {i}\n" for i in range(LINES))
    for attempt in range(10):
        # From "just queued" to "the script is about done" (the run lasts about 2 s).
        delay = rng.uniform(0.0, 2.5)
        result = deck("submit", "--detach", "-c", "plain", "count.py")
        assert result.returncode == 0, result.out + result.err
        run_id = run_id_of(result.out)
        what = f"try {attempt}: keeper of {run_id} killed {delay:.2f} s after submit"
        time.sleep(delay)  # the chaos itself: a random moment, not a wait for a result
        pid = keeper_pid_of(deck, run_id)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it had finished already
        deck("runs", "list", check=True)  # any look at history revives a dead keeper
        run = deck.wait_for(run_id, timeout=120)
        assert (run["status"], run["exit_code"]) == ("Failed", 3), (what, run)
        assert run["artifacts"] == ["outputs/result.txt"], (what, run)
        assert deck("logs", run_id, check=True).out == expected_log, what
        assert run["metrics"]["step"] == list(range(LINES)), (what, run["metrics"])
