"""The log's filter mode at 80x24: only the lines a regex finds (or, with !, does not), kept
while the log grows, with a count; saving what is shown to a file."""

from __future__ import annotations

from tests.tui.conftest import notified, screen_text, shows, until
from launchdeck.tui.screens.run_detail import RunDetailScreen


async def open_log(app, pilot, run_id):
    await until(pilot, lambda: run_id in app.runs, what="history read")
    app.action_goto("run", run_id)
    await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
    view = app.screen.log_view
    await until(pilot, lambda: view.index.line_count > 0, what="log indexed")
    return view


async def test_filter_shows_only_matching_lines_and_inverts(fixed_app, history_project):
    _, ids = history_project
    app = fixed_app
    async with app.run_test(size=(80, 24)) as pilot:
        await open_log(app, pilot, ids[0])
        await pilot.press("f", *r"loss=0\.05", "enter")
        text = await shows(pilot, app, "4 of 22 lines")
        for shown in ("epoch 16: loss=0.0588", "epoch 17: loss=0.0556", "epoch 18: loss=0.0526",
                      "epoch 19: loss=0.05"):
            assert shown in text
        assert "epoch 3:" not in text and "hello from local" not in text
        await pilot.press("f", "ctrl+u", *"!epoch", "enter")
        text = await shows(pilot, app, "2 of 22 lines")
        assert "hello from local" in text and "model written to outputs/model.json" in text
        assert "epoch 3:" not in text and "epoch 19:" not in text
        await pilot.press("f", "ctrl+u", *"(", "enter")
        await until(pilot, lambda: notified(app, "not a regular expression"))
        await pilot.press("escape")  # clears the filter: every line again
        await until(pilot, lambda: app.screen.log_view.row_count == 22, what="all lines back")
        assert "epoch 19: loss=0.05" in screen_text(app)


async def test_the_filter_follows_a_growing_log(fixed_app, history_project):
    project, ids = history_project
    app = fixed_app
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_log(app, pilot, ids[3])  # Running: its log is still followed
        await pilot.press("f", *"^new", "enter")
        await shows(pilot, app, "0 of ")
        with open(project.run_dir(ids[3]) / "output.log", "a") as log:
            log.write("\nnew line one\nold line\nnew line two\n")
        text = await shows(pilot, app, "new line two")
        assert "new line one" in text and "old line" not in text
        await until(pilot, lambda: view.row_count == 2, what="two lines kept")


async def test_save_writes_what_is_shown(fixed_app, history_project, tmp_path):
    _, ids = history_project
    app = fixed_app
    async with app.run_test(size=(80, 24)) as pilot:
        await open_log(app, pilot, ids[0])
        await pilot.press("S")
        await until(pilot, lambda: app.screen.__class__.__name__ == "Prompt")
        await shows(pilot, app, "Save the whole log to")
        whole = tmp_path / "whole.log"
        await pilot.press("ctrl+u", *str(whole), "enter")
        await until(pilot, lambda: notified(app, "saved 22 lines"))
        assert whole.read_text().startswith("hello from local\nepoch 0: loss=1.0\n")
        await pilot.press("f", *"epoch 1[0-2]", "enter")
        await shows(pilot, app, "3 of 22 lines")
        await pilot.press("S")
        await shows(pilot, app, "Save the 3 of 22 lines shown to")
        part = tmp_path / "part.log"
        await pilot.press("ctrl+u", *str(part), "enter")
        await until(pilot, lambda: notified(app, "saved 3 lines"))
        assert part.read_text() == ("epoch 10: loss=0.0909\nepoch 11: loss=0.0833\n"
                                    "epoch 12: loss=0.0769\n")
        await pilot.press("S", "ctrl+u", *str(part), "enter")  # never overwritten
        await shows(pilot, app, "exists: choose another name")
