"""The run detail screen: log (follow, search, wrap, times), metrics, artifacts, timeline."""

from __future__ import annotations

from core.runs.state import RunState
from tests.tui.conftest import footer, make_app, notified, screen_text, shows, until
from tests.tui.projects import FakeRun, clock, copy_sample, fill_history
from tui.screens.run_detail import RunDetailScreen
from tui.widgets.plot import LinePlot


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
    monkeypatch.setattr("tui.screens.run_detail.subprocess.run", fake_run)
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

    from tui.logindex import LineIndex

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
    from core.runs.submit import submit

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
    from core.runs.submit import submit

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
