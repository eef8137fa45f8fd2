"""The host-side slot holder, run here as deck runs it there (``python3 -c``), HOME a temp folder.

It is a stdlib program talking JSON lines on its stdin and stdout, so it is driven directly:
the SSH side of it is in tests/cli/test_host_slots.py.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading

import pytest

from launchdeck.core import farside
from tests.fixtures.waiting import until

SOURCE = farside.script("hostslot")


class Holder:
    """One ``hold`` command; its answers are read by a thread, so a test never blocks for ever."""

    def __init__(self, home, run: str, *, limit: int = 1, mode: str = "wait",
                 key: str = "remote-box") -> None:
        spec = {"key": key, "limit": limit, "mode": mode,
                "owner": {"machine": "laptop", "project": "/p", "user": "me", "run": run}}
        self.proc = subprocess.Popen([sys.executable, "-c", SOURCE, "hold", json.dumps(spec)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env={**os.environ, "HOME": str(home)})
        self.answers: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.answers.put(json.loads(line))
        self.answers.put(None)

    def answer(self) -> dict | None:
        return self.answers.get(timeout=60)

    def hand_over(self, watch: dict) -> None:
        self.proc.stdin.write(json.dumps(watch).encode() + b"\n")
        self.proc.stdin.close()

    def give_up(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _start_time(pid: int) -> str:
    stat = open(f"/proc/{pid}/stat", "rb").read()
    return stat[stat.rindex(b")") + 2:].split()[19].decode()


@pytest.fixture
def stopper():
    """A process that ends when told (its stdin closes): what a hand-over watches."""
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                            stdin=subprocess.PIPE)
    until(lambda: _start_time(proc.pid), what="the watched process")
    yield proc
    proc.kill()
    proc.wait()


def test_one_slot_one_run_the_next_waits_says_who_holds_it_and_takes_it_when_freed(tmp_path):
    first = Holder(tmp_path, "a")
    assert first.answer() == {"slot": 0}
    second = Holder(tmp_path, "b")
    waiting = second.answer()
    assert waiting["limit"] == 1 and [h["run"] for h in waiting["busy"]] == ["a"]
    assert waiting["busy"][0]["machine"] == "laptop" and waiting["busy"][0]["pid"] > 0
    first.give_up()  # its keeper went away before a launch: the slot goes back
    assert second.answer() == {"slot": 0}
    second.give_up()


def test_each_run_starts_only_below_its_own_limit(tmp_path):
    wide = Holder(tmp_path, "a", limit=2)
    assert wide.answer() == {"slot": 0}
    narrow = Holder(tmp_path, "b", limit=1)  # another laptop's file says 1
    assert "busy" in narrow.answer()
    also_wide = Holder(tmp_path, "c", limit=2)
    assert also_wide.answer() == {"slot": 1}
    for holder in (wide, narrow, also_wide):
        holder.give_up()


def test_a_handed_over_slot_lasts_as_long_as_the_run_with_no_one_connected(tmp_path, stopper):
    first = Holder(tmp_path, "a")
    assert first.answer() == {"slot": 0}
    first.hand_over({"pids": [[stopper.pid, _start_time(stopper.pid)]]})
    assert first.answer() == {"watching": True}
    assert first.answer() is None and first.proc.wait(timeout=60) == 0  # the command ended
    second = Holder(tmp_path, "b")
    assert "busy" in second.answer()  # held by the detached holder alone
    adopted = Holder(tmp_path, "a", mode="adopt")
    assert adopted.answer() == {"held": 0}
    stopper.stdin.close()  # the run ends
    assert second.answer() == {"slot": 0}
    full = Holder(tmp_path, "c", mode="adopt")
    assert "busy" in full.answer() and full.answer() is None  # it does not wait
    second.give_up()
