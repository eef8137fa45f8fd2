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
    return [sys.executable, "-m", "cli.main"]


def source_env() -> dict[str, str]:
    """The environment of an installed deck: bytecode caches allowed (pip writes them)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
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
