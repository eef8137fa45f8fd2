"""The dashboard under load, in a real pseudo-terminal (figures printed, never asserted).

1. Launch to first painted frame with 2,000 runs in history (goal <= 1 s), and to the rows.
2. 50 chatty local runs printing as fast as they can, at deck's default niceness and at 0:
   key press to repaint (median, p95), log lines/s the open log view shows against what the
   run writes, dashboard CPU.
3. A 1,000,000-line log: time to its first page, to the top, page by page; memory.
4. Dashboard CPU when nothing changes.
5. One run writing 20 log lines/s (and a metric a second, as training scripts do): dashboard
   CPU while its log is followed, and while the run's Metrics or Info tab hides the log,
   against the same tab of a run logging the same metric but no lines: the difference is what
   the hidden log costs (``--only follow``); then on the runs screen, the run highlighted: at
   160x48, where the preview follows its log's end (and reads its CPU and memory for the cpu
   and mem columns), then with the next run highlighted (the preview shows that one), and at
   120x40, where the preview does not show.

Every run and process a section starts is canceled or killed before the next one starts, even
when the section fails or the bench gets SIGTERM/SIGHUP/Ctrl-C (``bench._common.stop_project``).

Run: python bench/bench_tui.py [--runs 2000] [--chatty 50] [--seconds 20] [--only follow]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (compile_sources, copy_sample_project, deck_command,  # noqa: E402
                           exit_on_signals, median, p95, processes_of, report, source_env,
                           stop_project)
from bench._dashboard import Pty, fill_history  # noqa: E402

CHATTY = """\
import sys, time
end = time.monotonic() + float(sys.argv[1])
i = 0
while time.monotonic() < end:
    print(f"chatty line {i} " + "x" * 40)
    i += 1
    if i % 5000 == 0:
        import deckrun; deckrun.log("lines", i)
"""

STEADY = """\
import sys, time
import deckrun
end = time.monotonic() + float(sys.argv[1])
rate = float(sys.argv[2])
quiet = len(sys.argv) > 3  # the metric only, no log lines: what the tabs cost by themselves
i = 0
start = time.monotonic()
while time.monotonic() < end:
    if not quiet:
        print(f"steady line {i} " + "y" * 40, flush=True)
    i += 1
    if i % int(rate) == 0:
        deckrun.log("lines", i)
    time.sleep(max(0.0, start + i / rate - time.monotonic()))
"""


def bench_start(project: Path, history: list[str]) -> None:
    runs = len(history)
    newest = f"{1700000000000 + runs - 1}"  # its id, shown without the project's prefix
    term = Pty(project)
    try:
        first = term.until(r"sort run")  # the summary bar: the first frame is on screen
        rows = term.until(newest, timeout=60)
        report("launch to first painted frame", first, goal="<= 1 s")
        report(f"launch to the newest of {runs} runs in the table", first + rows)
        report("dashboard memory with the runs shown (RSS)", term.memory_mib(), "MiB")
    finally:
        term.close()
    term = Pty(project, size=(160, 40))
    try:
        term.until(newest, timeout=60)
        term.drain(2)
        moves, sorts = key_latencies(term, history[::-1], 16)
        report("cursor key to repaint, nothing running (median)", median(moves))
        report(f"sort key ({runs} rows) to repaint, nothing running (median)", median(sorts))
        before = term.cpu_seconds()
        term.drain(10)
        report("dashboard CPU while nothing changes", (term.cpu_seconds() - before) / 10 * 100,
               "% of a core", goal="near 0")
    finally:
        term.close()


SUBMIT = """\
import sys
from pathlib import Path
from launchdeck.core.project import Project
from launchdeck.core.runs.submit import submit
project = Project(Path(sys.argv[1]))
for _ in range(int(sys.argv[2])):
    print(submit(project, "chatty", str(project.root / "chatty.py"), (sys.argv[3],)).run_id,
          flush=True)
"""
# Chatty runs end by themselves after this many seconds, should every cleanup fail.
CHATTY_LIFETIME = 1800


# A key not answered within this is counted as missed (and its time as this): a starved
# dashboard is a figure to print, not a reason for the bench to stop.
KEY_TIMEOUT = 60.0
# How long the keys of one chatty section may take in all, and how long its runs may take to
# show as running: a dashboard starved by runs at niceness 0 answers a key in minutes, and 40
# such keys would keep the bench going for most of an hour.
SECTION_BUDGET = 600.0


def _answered(term: Pty, pattern: str, missed: list[str]) -> float:
    try:
        return term.until(pattern, timeout=KEY_TIMEOUT)
    except TimeoutError:
        missed.append(pattern)
        return KEY_TIMEOUT


def key_latencies(term: Pty, order: list[str], presses: int,
                  missed: list[str] | None = None,
                  deadline: float = float("inf")) -> tuple[list[float], list[float]]:
    """Seconds from a key to its repaint: "j" (the wide screen's preview then names the next
    run) and "o" (every row sorted again; the summary bar then names the column). The keys
    not answered in ``KEY_TIMEOUT`` go into ``missed``; none is pressed after ``deadline``
    (``time.monotonic``)."""
    missed = [] if missed is None else missed
    moves: list[float] = []
    for row in range(1, presses + 1):
        if time.monotonic() > deadline:
            return moves, []
        term.press("j")
        moves.append(_answered(term, rf"run +{order[row]}", missed))
        term.drain(0.2)
    # The o key's order: every column but cpu and mem (read, not history), "#" last.
    cycle = [("status", "▲"), ("script", "▲"), ("config", "▲"), ("target", "▲"),
             ("took", "▼"), ("metric", "▲"), ("started", "▼"), ("#", "▲"), ("run", "▼")]
    sorts: list[float] = []
    for i in range(presses):
        if time.monotonic() > deadline:
            break
        label, arrow = cycle[i % len(cycle)]
        term.press("o")
        sorts.append(_answered(term, rf"sort {label} {arrow}", missed))
        term.drain(0.2)
    return moves, sorts


def bench_chatty(project: Path, history: list[str], chatty: int, seconds: float, *,
                 nice: int | None, presses: int) -> list[str]:
    """``nice``: the ``niceness`` of the runs' ``.compute`` file (None: deck's default, 10).

    Keepers and local runs set it on themselves and on their sessions' scheduling groups
    (``core.targets.priority``): with Linux autogroup scheduling, niceness alone only counts
    inside a session, and every keeper and run is a session of its own.

    Every run it starts is canceled, and every process left in the project killed, before it
    returns, whether it succeeded or not.
    """
    setting = "" if nice is None else f"niceness: {nice}\n"
    (project / "aml_config" / "chatty.compute").write_text(
        f'type: "local"\nmaxConcurrentRuns: {chatty}\n{setting}')
    (project / "aml_config" / "chatty.runconfig").write_text(
        'ArgumentVector: ["$file"]\nTarget: "chatty"\nFramework: "Python"\n')
    (project / "chatty.py").write_text(CHATTY)
    # They run until canceled at the end; ``seconds`` is how long the log view is watched.
    run_ids: list[str] = []
    term = None
    where = f"{chatty} chatty runs at " + ("default niceness" if nice is None
                                             else f"niceness {nice}")
    try:
        submitted = subprocess.run([sys.executable, "-c", SUBMIT,
                                    str(project), str(chatty), str(CHATTY_LIFETIME)],
                                   cwd=project, env=source_env(), capture_output=True, text=True)
        run_ids = submitted.stdout.split()
        if submitted.returncode != 0:
            raise RuntimeError(f"submitting chatty runs failed:\n{submitted.stderr}")
        term = Pty(project, size=(160, 40))  # wide: the run preview shows beside the table
        try:  # 100 Pythons start on a few cores
            term.until(rf"\b{chatty} running", timeout=SECTION_BUDGET)
        except TimeoutError:
            report(f"dashboard showing all {chatty} runs running, {where}",
                   SECTION_BUDGET, "s: not within it, so no key was pressed")
            return run_ids
        term.drain(2)
        cpu0, t0 = term.cpu_seconds(), time.perf_counter()
        # Newest first, as the table shows them: these runs are newer than all of history.
        missed: list[str] = []
        moves, sorts = key_latencies(term, [*history, *run_ids][::-1], presses, missed,
                                     deadline=time.monotonic() + SECTION_BUDGET)
        cpu = (term.cpu_seconds() - cpu0) / (time.perf_counter() - t0) * 100
        pressed = len(moves) + len(sorts)
        report(f"keys not answered within {KEY_TIMEOUT:.0f} s, {where}", len(missed),
               f"of {pressed} keys pressed ({2 * presses - pressed} not pressed: "
               f"past the section's {SECTION_BUDGET:.0f} s)")
        if not moves or not sorts:
            report(f"dashboard CPU, {where}", cpu, "% of a core")
            return run_ids
        report(f"cursor key to repaint, {where} (median)", median(moves))
        report(f"cursor key to repaint, {where} (p95)", p95(moves))
        report(f"sort key (all rows) to repaint, {where} (median)", median(sorts))
        report(f"sort key (all rows) to repaint, {where} (p95)", p95(sorts))
        report(f"dashboard CPU, {where}", cpu, "% of a core")
        log = project / ".deck" / "runs" / run_ids[0] / "output.log"
        term.press(f":run {run_ids[0]}\r")
        term.until(r"chatty line \d+", timeout=300)
        term.drain(1)
        start_written, start_shown = _written(log), _last_line(term)
        start = time.perf_counter()
        term.drain(seconds)
        elapsed = time.perf_counter() - start
        written, shown = _written(log), _last_line(term)
        report("log lines/s the watched run writes", (written - start_written) / elapsed,
               "lines/s")
        report("log lines/s its followed log view shows", (shown - start_shown) / elapsed,
               "lines/s")
        report("  lines behind the end at the last look", written - shown, "lines")
    finally:
        if term is not None:
            term.close()
        stop_chatty = time.perf_counter()
        killed = stop_project(project)
        report(f"  runs canceled and gone ({killed} processes had to be killed)",
               time.perf_counter() - stop_chatty)
    return run_ids


def _written(log: Path) -> int:
    """The number of the last complete line the chatty script wrote (it counts them)."""
    with open(log, "rb") as f:
        f.seek(max(0, log.stat().st_size - 4096))
        found = re.findall(rb"chatty line (\d+)", f.read())
    return int(found[-2]) if len(found) > 1 else 0


def _last_line(term: Pty) -> int:
    found = re.findall(r"chatty line (\d+)", term.text[-200_000:])
    return max(map(int, found)) if found else 0


def bench_follow(project: Path, seconds: float, rate: float = 20.0) -> None:
    """Dashboard CPU with one run writing ``rate`` lines/s: its log followed, then hidden
    behind the Metrics and Info tabs of the same run (the log tab is not on screen)."""
    (project / "aml_config" / "steady.runconfig").write_text(
        'ArgumentVector: ["$file"]\nTarget: "local"\nFramework: "Python"\n')
    (project / "steady.py").write_text(STEADY)
    term = None
    try:
        # The same metric each second, no log lines: what the Metrics and Info tabs cost by
        # themselves, so that what a hidden log adds shows as the difference. Submitted first:
        # the runs screen below starts on the newest run, the one writing lines.
        quiet_id = _submit_steady(project, rate, "quiet")
        run_id = _submit_steady(project, rate)
        term = Pty(project, size=(120, 40))
        term.until(r"sort run", timeout=60)
        term.drain(1)
        term.press(f":run {run_id}\r")
        term.until(r"steady line \d+", timeout=300)
        term.drain(2)
        hidden = {}
        for label, keys in (("followed", ""), ("hidden behind the Metrics tab", "2"),
                            ("hidden behind the Info tab", "4")):
            if keys:
                term.press(keys)
                term.drain(2)
            cpu = hidden[keys] = _cpu_share(term, seconds)
            report(f"dashboard CPU, a {rate:.0f} lines/s log {label}", cpu, "% of a core",
                   goal="<= 5 %" if not keys else "")
        term.press(f":run {quiet_id}\r")
        term.until(quiet_id.rsplit("_", 1)[-1], timeout=60)
        for tab, keys in (("Metrics", "2"), ("Info", "4")):
            term.press(keys)
            term.drain(2)
            alone = _cpu_share(term, seconds)
            report(f"  the {tab} tab of a run with no log lines", alone, "% of a core")
            report(f"  what the hidden log adds to the {tab} tab", hidden[keys] - alone,
                   "% of a core", goal="near 0")
        term.close()
        # Over, so that the preview of the next row below shows a log that does not change.
        subprocess.run([*deck_command(), "cancel", quiet_id], cwd=project, env=source_env(),
                       capture_output=True, check=True)
        for size, label in (((160, 48), "followed in the runs preview (160x48)"),
                            ((120, 40), "on the runs screen, no preview (120x40)")):
            term = Pty(project, size=size)
            term.until(r"sort run", timeout=60)
            if size[0] >= 140:
                term.until(r"steady line \d+", timeout=60)  # the preview follows it
            term.drain(2)
            cpu = _cpu_share(term, seconds)
            report(f"dashboard CPU, a {rate:.0f} lines/s log {label}", cpu, "% of a core",
                   goal="<= 5 %")
            if size[0] >= 140:
                # The next run highlighted: the preview shows that one, the log goes unseen.
                term.press("j")
                term.until(rf"run +{quiet_id}", timeout=60)
                term.drain(2)
                cpu = _cpu_share(term, seconds)
                report(f"dashboard CPU, a {rate:.0f} lines/s log not highlighted "
                       "(160x48, the preview shows another run)", cpu, "% of a core",
                       goal="near 0")
            term.close()
    finally:
        if term is not None:
            term.close()
        stop_project(project)


def _submit_steady(project: Path, rate: float, *extra: str) -> str:
    """A run of STEADY (its arguments after ``rate``: ``extra``); returns its id."""
    arguments = ", ".join(f"sys.argv[{3 + i}]" for i in range(2 + len(extra)))
    submit = SUBMIT.replace('"chatty", str(project.root / "chatty.py"), (sys.argv[3],)',
                            f'"steady", str(project.root / "steady.py"), ({arguments},)')
    submitted = subprocess.run([sys.executable, "-c", submit, str(project), "1",
                                str(CHATTY_LIFETIME), str(rate), *extra],
                               cwd=project, env=source_env(), capture_output=True, text=True)
    if submitted.returncode != 0:
        raise RuntimeError(f"submitting the steady run failed:\n{submitted.stderr}")
    return submitted.stdout.split()[0]


def _cpu_share(term: Pty, seconds: float) -> float:
    """The dashboard's CPU over the next ``seconds``, in % of a core."""
    before, start = term.cpu_seconds(), time.perf_counter()
    term.drain(seconds)
    return (term.cpu_seconds() - before) / (time.perf_counter() - start) * 100


def bench_huge_log(project: Path, lines: int) -> None:
    ids = fill_history(project, 1, log_lines=lines)
    term = Pty(project, size=(120, 40))
    try:
        term.until(r"sort run")
        term.drain(1)
        rss = term.memory_mib()
        term.press(f":run {ids[-1]}\r")
        first = term.until(rf"line {lines - 1} of a long log", timeout=60)
        report(f"open a {lines:,}-line log: last page shown", first, goal="about 1 s")
        report("  memory added by the open log (RSS)", term.memory_mib() - rss, "MiB")
        term.drain(0.3)  # nobody presses a key within a third of a second of seeing a page
        report("  to the top (g)", _timed(term, "g", r"line 0 of a long log"))
        page = 40 - 4 - 1  # rows of the log view, less the line kept on a page down
        times = [_timed(term, "\x1b[6~", rf"line {page * k} of a long log") for k in
                 range(1, 21)]
        report("  page down (median of 20)", median(times))
        report("  back to the end (G)", _timed(term, "G", rf"line {lines - 1} of a long log"))
        report("  dashboard peak memory (VmHWM)", term.memory_mib("VmHWM"), "MiB")
    finally:
        term.close()


def _timed(term: Pty, keys: str, pattern: str) -> float:
    term.press(keys)
    return term.until(pattern, timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--chatty", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--log-lines", type=int, default=1_000_000)
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--nice", type=int, action="append",
                        help="niceness of the chatty runs, set in their .compute file "
                             "(repeatable; default: deck's default, then 0)")
    parser.add_argument("--only", choices=("start", "chatty", "log", "follow"))
    args = parser.parse_args()
    exit_on_signals()
    compile_sources()
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_sample_project(Path(tmp) / "bench")
        try:
            history = fill_history(project, args.runs)
            if args.only in (None, "start"):
                print(f"-- {args.runs} runs in history")
                bench_start(project, history)
            if args.only in (None, "chatty"):
                for nice in args.nice or (None, 0):
                    shown = "deck's default niceness" if nice is None else f"niceness {nice}"
                    print(f"-- {args.chatty} chatty local runs at {shown}, {args.runs} "
                          "runs in history")
                    history += bench_chatty(project, history, args.chatty, args.seconds,
                                            nice=nice, presses=args.presses)
        finally:
            stop_project(project)
            left = processes_of(project)
            print(f"-- processes left in the project: {len(left)}")
    if args.only in (None, "follow"):
        with tempfile.TemporaryDirectory() as tmp:
            project = copy_sample_project(Path(tmp) / "follow")
            try:
                fill_history(project, 200)
                print("-- one run writing 20 lines/s (a metric a second), 200 runs in history")
                bench_follow(project, args.seconds)
            finally:
                stop_project(project)
    if args.only in (None, "log"):
        with tempfile.TemporaryDirectory() as tmp:
            project = copy_sample_project(Path(tmp) / "biglog")
            try:
                print(f"-- a {args.log_lines:,}-line log")
                bench_huge_log(project, args.log_lines)
            finally:
                stop_project(project)


if __name__ == "__main__":
    main()
