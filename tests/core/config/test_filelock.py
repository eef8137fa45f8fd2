"""The per-file lock behind every read-modify-write of a config file."""

from __future__ import annotations

import multiprocessing
import threading

import pytest

from launchdeck.core.config._filelock import locked
from launchdeck.core.config.runconfig import load_runconfig, set_env
from launchdeck.core.errors import ConfigError
from tests.core.config.conftest import write

RC = 'Target: local\nEnvironmentVariables:\n  KEEP: "1"\n'


def _set_many(path: str, first: int, count: int) -> None:
    for n in range(first, first + count):
        set_env(path, {f"K{n}": str(n)})


def test_concurrent_edits_from_threads_and_processes_all_land(in_tmp):
    path = write(in_tmp / "aml_config" / "local.runconfig", RC)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_set_many, args=(str(path), 100 * i, 5)) for i in range(3)]
    threads = [threading.Thread(target=_set_many, args=(path, 1000 + 100 * i, 5))
               for i in range(3)]
    for worker in (*procs, *threads):
        worker.start()
    for worker in (*procs, *threads):
        worker.join(timeout=120)
    assert all(p.exitcode == 0 for p in procs)
    env = load_runconfig(path).environment_variables
    wanted = {f"K{b + n}": str(b + n) for b in (0, 100, 200, 1000, 1100, 1200) for n in range(5)}
    assert wanted.items() <= env.items() and env["KEEP"] == "1"


def test_the_lock_is_reentrant_in_a_thread_and_waits_across_threads(in_tmp):
    path = write(in_tmp / "f.yml", "a: 1\n")
    order = []
    with locked(path):
        with locked(path):  # a save inside an edit
            order.append("inner")
        other = threading.Thread(target=lambda: (locked_append(path, order)))
        other.start()
        other.join(timeout=0.3)
        assert other.is_alive()  # waits while this thread holds the lock
        order.append("outer done")
    other.join(timeout=30)
    assert order == ["inner", "outer done", "other"]


def locked_append(path, order) -> None:
    with locked(path):
        order.append("other")


def test_a_lock_held_too_long_gives_a_message_not_a_hang(in_tmp):
    path = write(in_tmp / "f.yml", "a: 1\n")
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(path), ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        with pytest.raises(ConfigError, match="another deck command is still changing"):
            with locked(path, wait=0.2):
                pass
    finally:
        release.set()
        holder.join(timeout=60)
    with locked(path, wait=30):
        pass


def _hold(path, ready, release) -> None:
    with locked(path):
        ready.set()
        release.wait(60)
