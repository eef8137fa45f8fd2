"""Small helpers shared by the benchmarks: medians, timing a command, finding `deck`."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def deck_command() -> list[str]:
    """The installed `deck` beside this Python, or the source tree's entry point."""
    beside = Path(sys.executable).parent / "deck"
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-m", "launchdeck.cli.main"]


def installed_deck() -> list[str]:
    """`deck` from `pip install .` (not editable) in a venv under .cache/, made once per content
    of the sources: start-up is measured as users get it. An editable install adds an import
    hook to every start (about 13 ms) that an installed deck does not pay."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted([REPO / "pyproject.toml", *(f for part in ("core", "cli", "tui")
                                                   for f in (REPO / part).rglob("*")
                                                   if f.is_file() and "__pycache__" not in f.parts)]):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    venv = REPO / ".cache" / f"bench-deck-{digest.hexdigest()[:16]}"
    deck = venv / "bin" / "deck"
    if not deck.exists():
        for old in (REPO / ".cache").glob("bench-deck-*"):
            shutil.rmtree(old, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(REPO)], check=True,
                       stdout=subprocess.DEVNULL)
    return [str(deck)]


def source_env() -> dict[str, str]:
    """The environment of an installed deck: bytecode caches allowed (pip writes them)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_sources() -> None:
    """Write .pyc files as `pip install` does, so start-up is measured as users get it."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "core", "cli", "tui"], cwd=REPO,
                   env=source_env(), check=False, stdout=subprocess.DEVNULL)


def time_command(argv: list[str], *, cwd: Path | None = None, env=None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env or source_env(), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def cpu_command(argv: list[str], *, cwd: Path | None = None, env=None) -> float:
    """CPU seconds (user + system) of a command and of every process it starts, detached ones
    included (a run's keeper and its script): this process becomes their child subreaper, so
    they are reaped here and their time counted. A busy machine stretches wall time far more
    than CPU time, so this is the figure to compare on one."""
    import ctypes
    import resource

    if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        raise OSError(ctypes.get_errno(), "cannot become a child subreaper")
    _reap_all()  # what an earlier command left (its keeper) is not counted here
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, cwd=cwd, env=env or source_env(), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _reap_all()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _reap_all() -> None:
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def copy_sample_project(dest: Path) -> Path:
    shutil.copytree(REPO / "sample_project", dest, ignore=shutil.ignore_patterns(".deck"))
    return dest


def report(name: str, value: float, unit: str = "s", *, baseline: float | None = None,
           goal: str = "") -> None:
    line = f"{name:52} {value:9.4f} {unit}"
    if baseline is not None and baseline > 0:
        line += f"   baseline {baseline:.4f} {unit}   ratio {value / baseline:.2f}x"
    if goal:
        line += f"   (goal: {goal})"
    print(line, flush=True)


def processes_of(root: Path) -> dict[int, int]:
    """pid -> process group of every process working in ``root`` or naming it on its command
    line: keepers, their waiters, run scripts, keeper seeds forked by a submitter."""
    root = root.resolve()
    found: dict[int, int] = {}
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            pgid = os.getpgid(int(entry.name))
        except (OSError, ValueError):
            continue  # gone, or not ours to look at
        if cwd == root or root in cwd.parents or any(str(root).encode() in a for a in argv):
            found[int(entry.name)] = pgid
    return found


def stop_project(root: Path, *, grace: float = 30.0) -> int:
    """End every run of the project at ``root`` and every process working in it.

    Active runs are canceled through history first (so keepers record Canceled); whatever is
    left after ``grace`` seconds is killed by process group. Returns how many processes had
    to be killed. Benchmarks call it in ``finally``: a failed bench must leave nothing running.
    """
    import signal

    try:
        from launchdeck.core.history.store import HistoryStore
        from launchdeck.core.project import Project
        from launchdeck.core.runs.control import request_cancel

        if (root / ".deck" / "history.db").exists():
            project = Project(root)
            active = [r.run_id for r in project.history.list_runs() if r.status.is_active]
            for run_id in active:
                try:
                    request_cancel(project, run_id)
                except Exception:
                    pass
            history = HistoryStore(root / ".deck" / "history.db")
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and any(
                    history.get_run(r).status.is_active for r in active):
                time.sleep(0.2)
            history.close()
            project.history.close()
    except Exception as exc:  # history itself may be what failed: the kill below still runs
        print(f"stop_project: {exc!r}", file=sys.stderr)
    # Keepers finish their work (outputs, clean-up) after the run is recorded: let them.
    deadline = time.monotonic() + 10
    while processes_of(root) and time.monotonic() < deadline:
        time.sleep(0.2)
    killed = 0
    for _ in range(20):
        left = processes_of(root)
        if not left:
            break
        for pid, pgid in left.items():
            try:
                if pgid != os.getpgrp():
                    os.killpg(pgid, signal.SIGKILL)
                else:
                    os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.25)
    return killed


def exit_on_signals() -> None:
    """SIGTERM and SIGHUP end the bench through ``finally`` blocks, as Ctrl-C does."""
    import signal

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
