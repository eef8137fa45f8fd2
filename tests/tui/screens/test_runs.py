"""The runs screen, on a made-up history (fast) and with real local runs (submit, cancel, rerun)."""

from __future__ import annotations

from launchdeck.core.history.store import HistoryStore
from launchdeck.core.runs.state import RunState
from tests.tui.conftest import (footer, make_app, notified, refreshes, screen_text, shows,
                                until)
from tests.tui.projects import clock
from launchdeck.tui.screens.run_detail import RunDetailScreen
from launchdeck.tui.screens.runs import RunsScreen
from launchdeck.tui.widgets.runs_table import RunsTable


def table(app) -> RunsTable:
    return app.screen.query_one(RunsTable)


def shown(app) -> list[str]:
    t = table(app)
    return [t.coordinate_to_cell_key((row, 0)).row_key.value for row in range(t.row_count)]


async def test_the_summary_bar_is_drawn_again_only_when_its_words_change(fixed_app):
    # Asked at every flush (twice a second while runs go); one line: no layout pass.
    from textual.widgets import Static

    async with fixed_app.run_test() as pilot:
        await until(pilot, lambda: table(fixed_app).row_count == 5, what="rows")
        await shows(pilot, fixed_app, "5 runs")
        drawn = refreshes(fixed_app.screen.query_one("#summary", Static))
        for _ in range(3):
            fixed_app.screen._show_summary()
        assert drawn == []
        await pilot.press("space")  # a run marked: the bar says so
        await shows(pilot, fixed_app, "1 marked")
        assert drawn == [False]


async def test_rows_newest_first_with_status_symbols(fixed_app, history_project):
    _, ids = history_project
    async with fixed_app.run_test() as pilot:
        await until(pilot, lambda: table(fixed_app).row_count == 5, what="rows")
        assert shown(fixed_app) == ids[::-1]
        text = await shows(pilot, fixed_app, "loss=0.05")  # the rows are painted
        for symbol, word in (("✓", "Completed"), ("✗", "Failed"), ("⊘", "Canceled"),
                             ("▶", "Running"), ("…", "Queued")):
            assert f"{symbol} {word}" in text
        assert "loss=0.05" in text  # last value of the first metric
        assert "1 running · 1 queued · 5 runs" in text


async def test_filter_by_text_status_and_target(fixed_app, history_project):
    _, ids = history_project
    async with fixed_app.run_test() as pilot:
        await until(pilot, lambda: table(fixed_app).row_count == 5)
        await pilot.press("slash", *"status:failed")
        assert shown(fixed_app) == [ids[1]]
        await pilot.press("enter")  # keeps the filter, back to the table
        assert fixed_app.focused is table(fixed_app)
        await pilot.press("slash", *["backspace"] * 13, *"target:docker")
        assert shown(fixed_app) == [ids[2]]
        await pilot.press("escape")  # closes and clears
        assert shown(fixed_app) == ids[::-1]


async def test_live_update_changes_cells_in_place(fixed_app, history_project):
    project, ids = history_project
    async with fixed_app.run_test() as pilot:
        await until(pilot, lambda: table(fixed_app).row_count == 5)
        t = table(fixed_app)
        keys_before = list(t.rows)
        HistoryStore(project.deck_dir / "history.db").transition(ids[3], RunState.FAILED)
        await until(pilot, lambda: "Failed" in str(t.get_cell(ids[3], "status")), what="update")
        assert list(t.rows) == keys_before  # same row objects: updated, never refilled


async def test_sort_cycles_columns_and_reverses(fixed_app, history_project):
    _, ids = history_project
    async with fixed_app.run_test() as pilot:
        await until(pilot, lambda: table(fixed_app).row_count == 5)
        await pilot.press("o")  # -> status
        assert table(fixed_app).sort_column == "status"
        order = [fixed_app.runs[i].status for i in shown(fixed_app)]
        assert order == sorted(order, key=list(RunState).index)
        await pilot.press("O")
        assert [fixed_app.runs[i].status for i in shown(fixed_app)] == order[::-1]
        assert "sort status ▼" in screen_text(fixed_app)


async def test_marks_and_compare(fixed_app, history_project):
    _, ids = history_project
    async with fixed_app.run_test() as pilot:
        await until(pilot, lambda: table(fixed_app).row_count == 5)
        await pilot.press("equals_sign")
        assert isinstance(fixed_app.screen, RunsScreen)  # fewer than two marked: refused
        await pilot.press("space", "space")  # marks the two newest, cursor moves down
        assert fixed_app.screen.marked_runs() == [ids[3], ids[4]]
        assert "●" in screen_text(fixed_app)
        await pilot.press("equals_sign")
        await until(pilot, lambda: fixed_app.screen.__class__.__name__ == "CompareScreen")
        assert fixed_app.screen.run_ids == [ids[3], ids[4]]
        await pilot.press("escape")
        await pilot.press("x")
        assert fixed_app.screen.marked_runs() == []


async def test_footer_offers_the_keys_that_act_now(fixed_app, history_project):
    _, ids = history_project
    async with fixed_app.run_test() as pilot:  # 80x24
        await until(pilot, lambda: table(fixed_app).row_count == 5)
        await until(pilot, lambda: "? Keys" in footer(fixed_app), what="footer")
        # The cursor is on the newest run: Queued (once the columns are fitted to 80).
        await until(pilot, lambda: "c Cancel" in footer(fixed_app), what="cancel offered")
        await pilot.press("G")  # the oldest: Completed, nothing to cancel
        await until(pilot, lambda: "c Cancel" not in footer(fixed_app), what="no cancel")
        assert "r Rerun" in footer(fixed_app) and "= Compare" not in footer(fixed_app)
        await pilot.press("space", "k", "space")
        await until(pilot, lambda: "= Compare" in footer(fixed_app), what="compare")
        assert "? Keys" in footer(fixed_app)  # still fits at 80 columns
        await pilot.press("x")
        await until(pilot, lambda: "= Compare" not in footer(fixed_app), what="no compare")
        await pilot.press("c")  # a hidden key does nothing
        await pilot.pause(0.2)
        assert isinstance(fixed_app.screen, RunsScreen)
        await pilot.press("question_mark")  # "?" lists every key, those idle now included
        await shows(pilot, fixed_app, "Cancel (not now)")
        assert "Compare (not now)" in screen_text(fixed_app)


async def test_enter_opens_the_run(fixed_app, history_project):
    _, ids = history_project
    async with fixed_app.run_test() as pilot:
        await until(pilot, lambda: table(fixed_app).row_count == 5)
        await pilot.press("j", "enter")
        assert isinstance(fixed_app.screen, RunDetailScreen)
        assert fixed_app.screen.run_id == ids[3]
        await pilot.press("escape")
        assert isinstance(fixed_app.screen, RunsScreen)


async def test_q_quits_from_the_top(fixed_app):
    async with fixed_app.run_test() as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert fixed_app.return_code == 0 and not fixed_app.is_running


# -- real runs ----------------------------------------------------------------------------------

def latest(project):
    store = HistoryStore(project.deck_dir / "history.db")
    try:
        return store.list_runs(limit=1)[0] if store.list_runs(limit=1) else None
    finally:
        store.close()


async def test_submit_from_the_form_runs_to_completion(live_project):
    app = make_app(live_project)
    async with app.run_test() as pilot:
        await pilot.press("s")
        await until(pilot, lambda: app.screen.__class__.__name__ == "SubmitDialog")
        dialog = app.screen
        await until(pilot, lambda: str(dialog.query_one("#script").value) == "train.py",
                    what="scripts found")
        dialog.query_one("#args").value = "--epochs 2 --sleep 0"
        await pilot.pause()
        assert "train.py --epochs 5 --epochs 2 --sleep 0" in screen_text(app)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: latest(live_project) is not None, what="submitted")
        run_id = latest(live_project).run_id
        try:
            await until(pilot, lambda: run_id in app.runs and app.runs[run_id].status
                        is RunState.COMPLETED, what="completed", timeout=60)
        except AssertionError:
            print("DEBUG", latest(live_project), app.runs.get(run_id),
                  (live_project.run_dir(run_id) / "keeper.log").read_text(),
                  app.workers, __import__("threading").enumerate())
            raise
        await until(pilot, lambda: "Completed" in str(table(app).get_cell(run_id, "status")))
        assert latest(live_project).arguments == ("--epochs", "5", "--epochs", "2", "--sleep", "0")


async def test_submit_form_checks_its_input(live_project):
    (live_project.root / "aml_config" / "broken.runconfig").write_text('"Target": [\n')
    app = make_app(live_project)
    async with app.run_test() as pilot:
        await pilot.press("s")
        await until(pilot, lambda: app.screen.__class__.__name__ == "SubmitDialog")
        dialog = app.screen
        await until(pilot, lambda: dialog.configs, what="run configurations read")
        dialog.query_one("#args").value = "--name 'unclosed"
        await pilot.pause()
        assert "arguments:" in screen_text(app)
        await pilot.press("ctrl+s")
        assert app.screen is dialog  # refused
        dialog.query_one("#args").value = ""
        dialog.query_one("#runconfig").value = "broken"
        await shows(pilot, app, "broken.runconfig:2")  # where the file is wrong
        await pilot.press("ctrl+s")
        assert app.screen is dialog
        await pilot.press("escape")
        assert latest(live_project) is None


async def test_cancel_asks_then_stops_the_run(live_project):
    from launchdeck.core.runs.submit import submit

    run = submit(live_project, "local", str(live_project.root / "train.py"),
                 ("--epochs", "500", "--sleep", "0.1"))
    app = make_app(live_project)
    async with app.run_test() as pilot:
        await until(pilot, lambda: run.run_id in app.runs and app.runs[run.run_id].status
                    is RunState.RUNNING, what="running")
        await pilot.press("c")
        await until(pilot, lambda: app.screen.__class__.__name__ == "Confirm")
        await pilot.press("n")  # no: nothing happens
        await pilot.pause(0.3)
        assert app.runs[run.run_id].status is RunState.RUNNING
        await pilot.press("c", "y")
        await until(pilot, lambda: app.runs[run.run_id].status is RunState.CANCELED,
                    what="canceled", timeout=30)


async def test_rerun_uses_the_same_snapshot_and_config_even_after_edits(live_project):
    from launchdeck.core.runs.submit import submit

    first = submit(live_project, "local", str(live_project.root / "train.py"),
                   ("--epochs", "1", "--sleep", "0"))
    root = live_project.root
    (root / "train.py").write_text("print('edited since')\n")
    runconfig = root / "aml_config" / "local.runconfig"
    runconfig.write_text(runconfig.read_text().replace("hello from local", "changed since"))
    app = make_app(live_project)
    async with app.run_test() as pilot:
        await until(pilot, lambda: first.run_id in app.runs and app.runs[first.run_id].status
                    is RunState.COMPLETED, what="first run", timeout=60)
        await pilot.press("r")
        await until(pilot, lambda: len(app.runs) == 2, what="rerun submitted")
        again = next(r for r in app.runs.values() if r.run_id != first.run_id)
        assert (again.script, again.run_configuration, again.arguments, again.snapshot,
                again.config) == (first.script, first.run_configuration, first.arguments,
                                  first.snapshot, first.config)
        await until(pilot, lambda: app.runs[again.run_id].status is RunState.COMPLETED,
                    what="rerun completed", timeout=60)
        await until(pilot, lambda: table(app).cursor_run_id == again.run_id, what="selected")
    log = (live_project.run_dir(again.run_id) / "output.log").read_text()
    assert log.startswith("hello from local\n") and "edited since" not in log


# -- 80x24, smaller things ---------------------------------------------------------------------

async def test_bulk_cancel_says_how_many_and_clears_the_marks_once_done(
        fixed_app, history_project):
    _, ids = history_project
    app = fixed_app
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: table(app).row_count == 5)
        await pilot.press("space", "space")  # the Queued and the Running run
        assert set(app.screen.marked_runs()) == {ids[3], ids[4]}
        await pilot.press("c")
        text = await shows(pilot, app, "Cancel 2 runs?")
        assert "Cancel 2 runs (y)" in text and "Cancel run" not in text  # words and button agree
        await pilot.press("n")  # said no: nothing canceled, the marks stay for another try
        await until(pilot, lambda: "Cancel 2 runs?" not in screen_text(app),
                    what="the question gone")
        assert set(app.screen.marked_runs()) == {ids[3], ids[4]}
        assert "2 marked" in screen_text(app)
        await pilot.press("c")
        await shows(pilot, app, "Cancel 2 runs?")
        await pilot.press("y")
        await until(pilot, lambda: app.runs[ids[4]].status is RunState.CANCELED, what="canceled")
        await until(pilot, lambda: app.screen.settled)
        assert app.screen.marked_runs() == []  # dealt with: c now acts on the cursor's run
        await until(pilot, lambda: "2 marked" not in screen_text(app), what="no marks shown")
        assert "●" not in screen_text(app)


async def test_an_unknown_status_names_the_known_ones(fixed_app):
    app = fixed_app
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: table(app).row_count == 5)
        await pilot.press("slash", *"status:bogus")
        text = await shows(pilot, app, "no status bogus")
        assert "queued preparing running completed failed canceled" in text
        await pilot.press(*["backspace"] * 5, *"fail")
        await until(pilot, lambda: "no status" not in screen_text(app), what="hint gone")


async def test_the_sort_order_is_remembered_across_restarts(history_project):
    project, _ = history_project
    app = make_app(project, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: table(app).row_count == 5)
        await pilot.press("o", "O")  # status, reversed
        assert (table(app).sort_column, table(app).sort_reverse) == ("status", True)
    again = make_app(project, clock=clock)
    async with again.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: table(again).row_count == 5)
        assert (table(again).sort_column, table(again).sort_reverse) == ("status", True)
        await shows(pilot, again, "sort status ▼")
        order = [again.runs[i].status for i in shown(again)]
        assert order == sorted(order, key=list(RunState).index, reverse=True)


# -- delete, move in the queue, rerun marked runs (#14.14, #14.17) -------------------------------

async def test_ctrl_d_refuses_a_going_run_asks_then_deletes_rows_and_folders(fixed_app,
                                                                               history_project):
    project, ids = history_project
    app = fixed_app
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: table(app).row_count == 5)
        await until(pilot, lambda: table(app).cursor_run_id == ids[4], what="newest first")
        await pilot.press("ctrl+d")  # the Queued run: refused, nothing asked
        await until(pilot, lambda: notified(app, "cancel first (c), then delete"), what="why")
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("G", "ctrl+d")  # the oldest, Completed, with a log and an artifact
        text = await shows(pilot, app, f"Delete {ids[0]}?")
        assert "Delete run (y)" in text and "No (n)" in text  # the buttons fit 80x24
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        assert ids[0] in app.runs and project.run_dir(ids[0]).is_dir()
        await pilot.press("ctrl+d")
        await shows(pilot, app, "Delete run (y)")
        await pilot.press("y")
        await until(pilot, lambda: ids[0] not in shown(app), what="row gone")
        assert not project.run_dir(ids[0]).exists()
        assert ids[0] not in [r.run_id for r in HistoryStore(project.deck_dir /
                                                            "history.db").list_runs()]
        await pilot.press("G", "space", "k", "space")  # Failed and Canceled marked
        assert set(app.screen.marked_runs()) == {ids[1], ids[2]}
        await pilot.press("ctrl+d")
        await shows(pilot, app, "Delete 2 runs (y)")
        await pilot.press("y")
        await until(pilot, lambda: shown(app) == [ids[4], ids[3]], what="both rows gone")
        await until(pilot, lambda: "marked" not in screen_text(app), what="marks gone too")


def queued_project(tmp_path):
    from tests.tui.projects import FakeRun, copy_sample, fill_history

    project = copy_sample(tmp_path)
    ids = fill_history(project, [FakeRun(RunState.RUNNING)] +
                       [FakeRun(RunState.QUEUED, script=f"q{i}.py") for i in range(3)])
    return project, ids


async def test_a_queued_run_moves_up_down_and_to_the_front_at_80x24(tmp_path):
    project, ids = queued_project(tmp_path)
    app = make_app(project, clock=clock)
    history = HistoryStore(project.deck_dir / "history.db")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: table(app).row_count == 4)
        await until(pilot, lambda: table(app).cursor_run_id == ids[3], what="newest first")
        await until(pilot, lambda: "K Up" in footer(app) and "F Front" in footer(app),
                    what="move keys offered on a queued run")
        assert "? Keys" in footer(app)  # still fits at 80 columns
        await pilot.press("F")
        await until(pilot, lambda: history.queue("local") == [ids[3], ids[1], ids[2]],
                    what="moved to the front")
        await shows(pilot, app, "q2.py")
        await until(pilot, lambda: app.queue_waits.get(ids[3]) is not None
                    and app.queue_waits[ids[3]].position == 1, what="the table told")
        assert table(app).cursor_run_id == ids[3]  # the cursor stays on the moved run
        await pilot.press("J")
        await until(pilot, lambda: history.queue("local") == [ids[1], ids[3], ids[2]],
                    what="one down")
        await pilot.press("j", "K")  # ids[2], the last, one up
        await until(pilot, lambda: history.queue("local") == [ids[1], ids[2], ids[3]],
                    what="one up")
        await pilot.press("question_mark")  # "?" says what the short footer words mean
        await shows(pilot, app, "Move to the queue's front (starts next)")
        await pilot.press("escape", "G")  # the Running run: nothing to move, no keys
        await until(pilot, lambda: "K Up" not in footer(app), what="keys hidden")
    history.close()


async def test_rerun_of_marked_runs_queues_each_again_in_one_go(live_project):
    from launchdeck.core.runs.submit import submit

    old = [submit(live_project, "local", str(live_project.root / "train.py"),
                  ("--epochs", "1", "--sleep", "0")) for _ in range(2)]
    app = make_app(live_project)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: all(r.run_id in app.runs and app.runs[r.run_id].status
                                       is RunState.COMPLETED for r in old),
                    what="first runs", timeout=60)
        await until(pilot, lambda: table(app).row_count == 2)
        await pilot.press("space", "space", "r")
        await until(pilot, lambda: len(app.runs) == 4, what="both rerun", timeout=30)
        await until(pilot, lambda: notified(app, "2 runs rerun"), what="one toast")
        new = [r for r in app.runs.values() if r.run_id not in {o.run_id for o in old}]
        assert sorted(r.snapshot for r in new) == sorted(r.snapshot for r in old)
        await until(pilot, lambda: table(app).cursor_run_id == max(
            new, key=lambda r: r.created_utc).run_id, what="the newest selected")


# -- CPU and memory of running runs (#14.16) ----------------------------------------------------

async def test_cpu_and_memory_of_a_running_run_show_where_they_fit(live_project):
    import re

    from textual.widgets.data_table import RowDoesNotExist

    from launchdeck.core.runs.control import request_cancel
    from launchdeck.core.runs.submit import submit

    run = submit(live_project, "local", str(live_project.root / "train.py"),
                 ("--epochs", "5000", "--sleep", "0.05"))
    app = make_app(live_project)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: run.run_id in app.runs and app.runs[run.run_id].status
                        is RunState.RUNNING, what="running", timeout=60)
            await until(pilot, lambda: table(app).showing_usage, what="columns fitted")

            def cells():
                # The table may be rebuilding its rows at this moment: read again later.
                try:
                    row = table(app).get_row(run.run_id)
                except RowDoesNotExist:
                    return "", ""
                keys = [c.key.value for c in table(app).ordered_columns]
                return str(row[keys.index("cpu")]), str(row[keys.index("mem")])

            await until(pilot, lambda: re.fullmatch(r"\d+%", cells()[0]), timeout=30,
                        what="a CPU share (two reads apart)")
            await until(pilot, lambda: re.fullmatch(r"\d+(\.\d)?[KMG]", cells()[1]),
                        what="a memory size")
            text = screen_text(app)
            assert " cpu " in text and " mem " in text
            # The cell may change between a read of the table and the next repaint.
            await until(pilot, lambda: cells()[1] in screen_text(app), what="memory on screen")
            # Too narrow for them: the columns go and nothing is read any more.
            await pilot.resize_terminal(60, 24)
            await until(pilot, lambda: not table(app).showing_usage, what="columns dropped")
            log = live_project.run_dir(run.run_id) / "output.log"
            # A read a timer began just before the columns went may still end: let it.
            lines = log.read_text().count("\n")
            await until(pilot, lambda: log.read_text().count("\n") > lines + 20, timeout=60,
                        what="1 s of the run")
            reads = app.screen._usage_board.reads
            lines = log.read_text().count("\n")
            # 80 epochs of at least 0.05 s each: more than one USAGE_EVERY has passed.
            await until(pilot, lambda: log.read_text().count("\n") > lines + 80, timeout=60,
                        what="4 s of the run")
            assert app.screen._usage_board.reads == reads
    finally:
        request_cancel(live_project, run.run_id)
    from tests.fixtures.waiting import until as wait_until

    wait_until(lambda: live_project.history.get_run(run.run_id).status.is_terminal,
               timeout=60, what="the run canceled")
