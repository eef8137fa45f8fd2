"""The run detail screen: log (follow, search, wrap, times), metrics, artifacts, timeline."""

from __future__ import annotations

import pytest

from launchdeck.core.runs.state import RunState
from tests.tui.conftest import (footer, make_app, notified, refreshes, screen_text, shows,
                                until)
from tests.tui.projects import FakeRun, clock, copy_sample, fill_history
from launchdeck.tui.screens.run_detail import RunDetailScreen
from launchdeck.tui.widgets.plot import LinePlot


async def open_run(app, pilot, run_id):
    await until(pilot, lambda: run_id in app.runs, what="history read")
    app.action_goto("run", run_id)
    await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
    view = app.screen.log_view
    await until(pilot, lambda: view.index.line_count > 0, what="log indexed")
    await pilot.pause(0.1)
    return view


async def test_log_metrics_artifacts_and_timeline(fixed_app, history_project):
    _, ids = history_project
    async with fixed_app.run_test(size=(100, 30)) as pilot:
        view = await open_run(fixed_app, pilot, ids[0])
        text = screen_text(fixed_app)
        assert "model written to outputs/model.json" in text  # followed to the end
        assert view.following
        await pilot.press("2")
        panel = fixed_app.screen.metrics_panel
        await until(pilot, lambda: len(panel.query(LinePlot)) == 2, what="plots")
        text = screen_text(fixed_app)
        assert "loss" in text and "⣀" in text or "⠤" in text  # a braille curve
        assert "Accuracy" in text and "0.93" in text  # one value: in the table, not a plot
        await pilot.press("3")
        await shows(pilot, fixed_app, "outputs/model.json")
        await pilot.press("y")
        await until(pilot, lambda: notified(fixed_app, "copied"))
        await pilot.press("4")
        text = await shows(pilot, fixed_app, "Timeline")
        for step in ("queued", "started", "first output", "finished (Completed)", "+44.0s"):
            assert step in text
        assert "env.LEARNING_RATE" in text and "0" * 0 + "00abab" in text  # config, snapshot


async def test_the_header_is_drawn_again_only_when_its_words_change(history_project):
    # Asked each second (a running run's time) and at each change history reports.
    from textual.widgets import Static

    project, ids = history_project
    now = [clock()]
    app = make_app(project, clock=lambda: now[0])
    async with app.run_test(size=(100, 30)) as pilot:
        await open_run(app, pilot, ids[3])  # Running
        drawn = refreshes(app.screen.query_one("#run-header", Static))
        for _ in range(3):
            app.screen._show_header()
        assert drawn == []  # the same words: nothing drawn
        shown = screen_text(app).splitlines()[0]
        now[0] += 3600
        app.screen._show_header()
        await until(pilot, lambda: screen_text(app).splitlines()[0] != shown,
                    what="the time an hour on")
        assert drawn == [False]  # one line: drawn again without a layout pass


async def test_footer_follows_what_each_key_can_do(fixed_app, history_project):
    _, ids = history_project
    async with fixed_app.run_test() as pilot:  # 80x24: the log overflows the view
        await open_run(fixed_app, pilot, ids[0])
        await until(pilot, lambda: "? Keys" in footer(fixed_app), what="footer")
        keys = footer(fixed_app)
        assert "w Wrap" in keys and "t Times" in keys and "/ Search" in keys
        assert "G Follow" not in keys  # following already
        assert "c Cancel" not in keys and "o Open" not in keys  # Completed; not on artifacts
        await pilot.press("k")
        await until(pilot, lambda: "G Follow" in footer(fixed_app), what="follow offered")
        await pilot.press("G")
        await until(pilot, lambda: "G Follow" not in footer(fixed_app), what="following")
        await pilot.press("3")
        await until(pilot, lambda: "o Open" in footer(fixed_app), what="artifact keys")
        assert "y Copy path" in footer(fixed_app) and "w Wrap" not in footer(fixed_app)
        await pilot.press("escape")
        await open_run(fixed_app, pilot, ids[3])  # Running
        await until(pilot, lambda: "c Cancel" in footer(fixed_app), what="cancel offered")


async def test_open_artifact_hands_the_terminal_to_the_pager(fixed_app, history_project,
                                                             monkeypatch):
    _, ids = history_project
    seen = []

    def fake_run(argv, check=False):
        seen.append(argv)

    monkeypatch.setenv("PAGER", "less -R")
    monkeypatch.setattr("launchdeck.tui.screens.run_detail.subprocess.run", fake_run)
    async with fixed_app.run_test() as pilot:
        await open_run(fixed_app, pilot, ids[0])
        monkeypatch.setattr(type(fixed_app), "suspend", _no_suspend)
        await pilot.press("3", "enter")
        await until(pilot, lambda: seen, what="pager started")
        assert seen[0][:2] == ["less", "-R"] and seen[0][2].endswith("outputs/model.json")


def _no_suspend(self):
    import contextlib

    return contextlib.nullcontext()


async def test_search_wrap_and_timestamps(fixed_app, history_project):
    _, ids = history_project
    async with fixed_app.run_test() as pilot:
        view = await open_run(fixed_app, pilot, ids[0])
        await pilot.press("slash", *"loss=0.25", "enter")
        await until(pilot, lambda: view.current_match == 4, what="match")
        assert not view.following
        view.focus()
        await pilot.press("N")
        await pilot.pause(0.2)
        assert view.current_match == 4  # nothing earlier
        await pilot.press("slash")
        await pilot.press("escape")
        assert fixed_app.focused is view and isinstance(fixed_app.screen, RunDetailScreen)
        await pilot.press("w")
        assert view.wrap
        await pilot.press("t")
        assert view.timestamps
        await shows(pilot, fixed_app, "········")  # lines that were there before we looked
        await pilot.press("G")
        assert view.following


async def test_a_huge_log_opens_at_once_and_scrolls(tmp_path, monkeypatch):
    import threading

    from launchdeck.tui.logindex import LineIndex

    readers = set()
    original = LineIndex._block_bytes

    def spy(self, block):
        readers.add(threading.current_thread() is threading.main_thread())
        return original(self, block)

    monkeypatch.setattr(LineIndex, "_block_bytes", spy)
    project = copy_sample(tmp_path)
    ids = fill_history(project, [FakeRun(RunState.COMPLETED, log="")])
    log = project.run_dir(ids[0]) / "output.log"
    with open(log, "w") as f:
        for i in range(1_000_000):
            f.write(f"line {i} of a long log\n")
    app = make_app(project, clock=clock)
    async with app.run_test() as pilot:
        view = await open_run(app, pilot, ids[0])
        await until(pilot, lambda: "line 999999 of a long log" in screen_text(app),
                    what="last page", timeout=10)
        await pilot.press("g")
        await shows(pilot, app, "line 0 of a long log")
        view.scroll_to(y=500_000, animate=False)
        await shows(pilot, app, "line 500000 of a long log")
        await pilot.press("slash", *"line 777777 ", "enter")
        await shows(pilot, app, "line 777777 of a long log")
    assert readers == {False}  # the file was read by workers only, never on the UI thread


async def test_live_log_follows_and_stops_when_scrolled_up(live_project):
    from launchdeck.core.runs.submit import submit

    run = submit(live_project, "local", str(live_project.root / "train.py"),
                 ("--epochs", "300", "--sleep", "0.01"))
    app = make_app(live_project)
    async with app.run_test(size=(100, 50)) as pilot:
        view = await open_run(app, pilot, run.run_id)
        await until(pilot, lambda: view.index.line_count > 60, what="output", timeout=30)
        await until(pilot, lambda: f"epoch {view.index.line_count - 2}:" in screen_text(app)
                    or "model written" in screen_text(app), what="following the end")
        await pilot.press("pageup")
        assert not view.following
        top = view.scroll_y
        await pilot.pause(0.5)
        assert view.scroll_y == top  # stays where the user put it while lines arrive
        await pilot.press("end")
        assert view.following
        await until(pilot, lambda: app.runs[run.run_id].status.is_terminal, timeout=60)
        await until(pilot, lambda: "model written to outputs/model.json" in screen_text(app))
        await pilot.press("2")  # what the run logged, plotted per metric
        panel = app.screen.metrics_panel
        await until(pilot, lambda: len(panel.query(LinePlot)) == 2, what="loss and w plots")
        await shows(pilot, app, "Accuracy")  # painted after the plots, perhaps a frame later
        await pilot.press("3")  # what it wrote to ./outputs/
        await shows(pilot, app, "outputs/model.json")
        await pilot.press("4")
        text = await shows(pilot, app, "finished (Completed)")
        for step in ("queued", "preparing", "PrepareEnvironment off", "started", "first output"):
            assert step in text
        assert run.snapshot in text and "LEARNING_RATE" in text


async def test_a_hidden_log_and_a_covered_runs_screen_do_no_work(live_project):
    """#14.7: on the Metrics tab the log is neither read nor drawn, and the runs screen under
    a run's detail draws nothing; both catch up as soon as they show again."""
    from launchdeck.core.runs.submit import submit

    run = submit(live_project, "local", str(live_project.root / "train.py"),
                 ("--epochs", "400", "--sleep", "0.02"))
    log = live_project.run_dir(run.run_id) / "output.log"
    app = make_app(live_project)
    async with app.run_test(size=(80, 24)) as pilot:
        runs_screen = app.screen
        applied = []
        real_apply = runs_screen.table.apply
        runs_screen.table.apply = lambda *a: (applied.append(a), real_apply(*a))
        view = await open_run(app, pilot, run.run_id)
        await until(pilot, lambda: view.index.line_count > 20, what="output", timeout=30)
        drawn = []
        real_render = view.render_lines
        view.render_lines = lambda crop: (drawn.append(1), real_render(crop))[1]
        await pilot.press("2")
        await pilot.pause(0.5)  # a repaint or tail pass under way when the tab changed
        indexed, drawn[:] = view.index.line_count, []
        applied.clear()
        written = log.read_bytes().count(b"\n")
        await until(pilot, lambda: log.read_bytes().count(b"\n") > written + 30,
                    what="the run writes on", timeout=60)
        await pilot.pause(0.6)  # more than the tail's slowest pause
        assert view.index.line_count == indexed and not drawn  # hidden: no reading, no drawing
        assert not applied  # the runs screen under the detail took no change
        await pilot.press("1")
        await until(pilot, lambda: view.index.line_count > written + 30 and drawn,
                    what="read and drawn again once shown")
        await until(pilot, lambda: app.runs[run.run_id].status.is_terminal, timeout=120)
        await shows(pilot, app, "model written to outputs/model.json")  # followed to the end
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is runs_screen)
        await until(pilot, lambda: applied, what="the changes applied on return")
        await shows(pilot, app, "Completed")


async def test_a_run_under_another_runs_screen_does_no_work_and_catches_up(live_project):
    """#14.7: ``:run`` from a run's screen covers it; the covered one reads, draws and asks
    history nothing (each of its repaints cost the screen on top one), and shows what it
    missed once it is back on top."""
    from textual.widgets import Static

    from launchdeck.core.runs.submit import submit

    run = submit(live_project, "local", str(live_project.root / "train.py"),
                 ("--epochs", "400", "--sleep", "0.02"))
    other = submit(live_project, "local", str(live_project.root / "train.py"),
                   ("--epochs", "1",))
    log = live_project.run_dir(run.run_id) / "output.log"
    app = make_app(live_project)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_run(app, pilot, run.run_id)
        covered = app.screen
        await until(pilot, lambda: view.index.line_count > 20, what="output", timeout=30)
        drawn = []
        real_render = view.render_lines
        view.render_lines = lambda crop: (drawn.append(1), real_render(crop))[1]
        header = refreshes(covered.query_one("#run-header", Static))
        loads = []
        real_load = covered._load
        covered._load = lambda: (loads.append(1), real_load())[1]
        await until(pilot, lambda: other.run_id in app.runs, what="the other run listed")
        app.action_goto("run", other.run_id)
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen)
                    and app.screen is not covered, what="the other run's screen")
        await pilot.pause(0.5)  # a repaint or tail pass under way when it was covered
        indexed, drawn[:], header[:], loads[:] = view.index.line_count, [], [], []
        written = log.read_bytes().count(b"\n")
        await until(pilot, lambda: log.read_bytes().count(b"\n") > written + 30,
                    what="the covered run writes on", timeout=60)
        await pilot.pause(1.2)  # more than the header's tick and the tail's slowest pause
        assert view.index.line_count == indexed and not drawn
        assert not header and not loads
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is covered)
        await until(pilot, lambda: view.index.line_count > written + 30 and drawn and loads,
                    what="read, drawn and loaded again once back on top")
        await until(pilot, lambda: header, what="the header ticks again")


BURN = """\
import time
ballast = bytearray(60 * 1024 * 1024)  # resident: every page written
for i in range(0, len(ballast), 4096):
    ballast[i] = 1
print("burning", flush=True)
end = time.monotonic() + 600
while time.monotonic() < end:
    pass
"""


def usage_line(app) -> str:
    return str(app.screen.query_one("#run-usage").render())


async def watch_usage(app, pilot, run_id):
    """Open the run's Info tab and wait for a CPU figure after a memory one."""
    import re

    await until(pilot, lambda: run_id in app.runs and app.runs[run_id].external_id,
                what="started", timeout=300)
    app.action_goto("run", run_id)
    await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
    await shows(pilot, app, "burning", timeout=120)
    await pilot.press("4")
    await shows(pilot, app, "% of a core", timeout=60)  # two reads: a CPU share

    def busy() -> bool:  # a busy loop: most of a core, but runs are niced on a busy machine
        found = re.search(r"CPU (\d+) % of a core", screen_text(app))
        return found is not None and int(found.group(1)) >= 1

    await until(pilot, busy, timeout=60, what="the CPU of a busy loop")
    text = screen_text(app)
    memory = re.search(r"memory ([\d.]+) MiB", text)
    assert memory and float(memory.group(1)) >= 60, text
    return text


async def test_info_shows_cpu_and_memory_of_a_running_local_run(live_project):
    from launchdeck.core.runs.control import request_cancel
    from launchdeck.core.runs.submit import submit

    (live_project.root / "burn.py").write_text(BURN)
    run = submit(live_project, "local", str(live_project.root / "burn.py"), ())
    app = make_app(live_project)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            text = await watch_usage(app, pilot, run.run_id)
            assert "1 process" in text
            reads = []
            meter = app.screen.query_one("#run-usage").meter
            real = meter.read

            async def counted():
                reads.append(1)
                return await real()

            meter.read = counted
            await pilot.press("1")  # the log tab: the figures are not read any more
            await pilot.pause(6.5)  # two intervals
            assert not reads
    finally:
        request_cancel(live_project, run.run_id)


@pytest.mark.docker
async def test_info_shows_cpu_and_memory_of_a_running_container(live_project, docker_engine):
    from launchdeck.core.runs.control import request_cancel
    from launchdeck.core.runs.submit import submit

    (live_project.config_dir / "conda_dependencies.yml").write_text(
        "name: env\ndependencies:\n  - python=3.11\n")
    (live_project.root / "burn.py").write_text(BURN)
    run = submit(live_project, "docker", str(live_project.root / "burn.py"), ())
    app = make_app(live_project)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await watch_usage(app, pilot, run.run_id)
    finally:
        request_cancel(live_project, run.run_id)


@pytest.mark.ssh
@pytest.mark.docker
async def test_info_shows_cpu_and_memory_of_a_remote_container(live_project, docker_engine,
                                                               ssh_server, tmp_path,
                                                               monkeypatch):
    """A remote Docker run: the engine's stats come through the SSH link to the host."""
    from launchdeck.core.config.compute import write_compute
    from launchdeck.core.config.runconfig import create_runconfig
    from launchdeck.core.runs.control import request_cancel
    from launchdeck.core.runs.submit import submit

    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    (home / ".ssh" / "known_hosts").write_text(ssh_server.known_hosts_line())
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    (live_project.config_dir / "conda_dependencies.yml").write_text(
        "name: env\ndependencies:\n  - python=3.11\n")
    write_compute(live_project.compute_path("gpu1"), type="remotedocker",
                  base_docker_image=docker_engine, address=ssh_server.host,
                  port=ssh_server.port, username=ssh_server.user,
                  identity_file=str(ssh_server.client_key))
    create_runconfig(live_project.runconfig_path("gpu1"), target="gpu1",
                     conda_dependencies_file="aml_config/conda_dependencies.yml",
                     prepare_environment=True)
    (live_project.root / "burn.py").write_text(BURN)
    run = submit(live_project, "gpu1", str(live_project.root / "burn.py"), ())
    app = make_app(live_project)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await watch_usage(app, pilot, run.run_id)
    finally:
        request_cancel(live_project, run.run_id)


async def test_n_after_the_last_match_says_so_and_matches_are_counted(fixed_app, history_project):
    _, ids = history_project
    app = fixed_app
    async with app.run_test(size=(80, 24)) as pilot:
        await open_run(app, pilot, ids[0])  # 22 lines, "loss=" on 20 of them
        await pilot.press("slash", *"epoch 18", "enter")
        await shows(pilot, app, "match 1 of 1")
        await pilot.press("escape")  # the box closes; n and N go on in the log
        await pilot.press("g", "slash", "ctrl+u", *"loss=", "enter")
        await shows(pilot, app, "match 1 of 20")
        await pilot.press("enter")
        await shows(pilot, app, "match 2 of 20")
        await pilot.press("escape", "G")
        app.screen.log_view.current_match = 20  # on the last match (line 0 is "hello")
        await pilot.press("n")
        await until(pilot, lambda: notified(app, "no more matches (20 in all)"),
                    what="no more matches")
        assert not notified(app, "not found")
        await pilot.press("slash", "ctrl+u", *"nowhere", "enter")
        await until(pilot, lambda: notified(app, "'nowhere' not found"))


async def test_rerun_from_a_run_moves_to_the_new_run(live_project):
    from launchdeck.core.runs.submit import submit

    first = submit(live_project, "local", str(live_project.root / "train.py"),
                   ("--epochs", "1", "--sleep", "0"))
    app = make_app(live_project)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: first.run_id in app.runs and app.runs[first.run_id].status
                    is RunState.COMPLETED, what="first run", timeout=60)
        app.action_goto("run", first.run_id)
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await pilot.press("r")
        await until(pilot, lambda: len(app.runs) == 2, what="rerun submitted")
        again = next(r for r in app.runs.values() if r.run_id != first.run_id)
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen)
                    and app.screen.run_id == again.run_id, what="the new run shown")
        assert len(app.screen_stack) == 3  # in place of the old one: escape goes home
        await until(pilot, lambda: app.runs[again.run_id].status.is_terminal, timeout=60)
        # The new screen mounts its tabs after the switch; a run this short may end first, and
        # leaving while the tabs mount is not what a user sees. Wait for its log on screen.
        await until(pilot, lambda: "model written to outputs/model.json" in screen_text(app),
                    what="the rerun's log", timeout=60)
