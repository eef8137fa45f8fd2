"""`:run` and the palette name runs by the one rule of core.history.runref."""

from __future__ import annotations

from tests.tui.conftest import notified, shows, until
from launchdeck.tui.screens.run_detail import RunDetailScreen
from launchdeck.tui.screens.runs import RunsScreen


async def goto(pilot, command):
    await pilot.press("colon", *command, "enter")
    await pilot.pause()


async def pick_the_second(pilot, app):
    """In the "Which run?" pick list: down, enter."""
    from textual.widgets import OptionList

    from launchdeck.tui.screens.dialogs import Choose

    await until(pilot, lambda: isinstance(app.screen, Choose), what="the pick list")
    options = app.screen.query_one(OptionList)
    await until(pilot, lambda: app.focused is options, what="the list focused")
    await pilot.press("down")
    await until(pilot, lambda: options.highlighted == 1, what="the second run")
    await pilot.press("enter")


async def test_colon_run_takes_a_number_and_refuses_a_guess(fixed_app, history_project):
    _, ids = history_project
    async with fixed_app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(fixed_app.runs) == 5)
        await goto(pilot, "run 7")
        await until(pilot, lambda: notified(fixed_app, "no run number 7"))
        assert isinstance(fixed_app.screen, RunsScreen)
        await goto(pilot, "run 2")
        await until(pilot, lambda: isinstance(fixed_app.screen, RunDetailScreen))
        assert fixed_app.screen.run_id == ids[1]


async def test_colon_run_takes_the_unique_start_of_the_id_the_table_shows(
        fixed_app, history_project):
    _, ids = history_project
    async with fixed_app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(fixed_app.runs) == 5)
        shown = ids[4].removeprefix("sample_")  # the table's id: without the project's name
        await shows(pilot, fixed_app, shown)
        start = shown[:9]
        assert [i for i in ids if start in i] == [ids[4]]  # unique
        await goto(pilot, f"run {start}")
        await until(pilot, lambda: isinstance(fixed_app.screen, RunDetailScreen))
        assert fixed_app.screen.run_id == ids[4]


async def test_colon_run_asks_which_run_an_ambiguous_part_means(fixed_app, history_project):
    _, ids = history_project
    async with fixed_app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(fixed_app.runs) == 5)
        # two ids hold this part: both are offered, newest first; escape opens none
        await goto(pilot, "run 17643205")
        text = await shows(pilot, fixed_app, "Which run? 2 runs hold '17643205'")
        assert "#4  sample_1764320580000  Running" in text
        assert "#3  sample_1764320520000  Canceled" in text
        assert "sample_1764320400000" not in text
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(fixed_app.screen, RunsScreen), what="back")
        # again, and the second one picked by keyboard opens it
        await goto(pilot, "run 17643205")
        await pick_the_second(pilot, fixed_app)
        await until(pilot, lambda: isinstance(fixed_app.screen, RunDetailScreen))
        assert fixed_app.screen.run_id == ids[2]
        await shows(pilot, fixed_app, "1764320520000")


async def test_colon_compare_asks_which_run_each_ambiguous_part_means(fixed_app,
                                                                       history_project):
    from launchdeck.tui.screens.compare import CompareScreen

    _, ids = history_project
    async with fixed_app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(fixed_app.runs) == 5)
        # the first part is run number 1; the second is held by two ids: asked, escape: none
        await goto(pilot, "compare 1 17643205")
        await shows(pilot, fixed_app, "Which run? 2 runs hold '17643205'")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(fixed_app.screen, RunsScreen), what="back")
        # again: the second one picked, and the comparison opens with both runs
        await goto(pilot, "compare 1 17643205")
        await pick_the_second(pilot, fixed_app)
        await until(pilot, lambda: isinstance(fixed_app.screen, CompareScreen), what=":compare")
        assert fixed_app.screen.run_ids == [ids[0], ids[2]]
        # a part no run holds is said, and nothing opens
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(fixed_app.screen, RunsScreen), what="back")
        await goto(pilot, "compare 1 99999999")
        await until(pilot, lambda: notified(fixed_app, "99999999"))
        assert isinstance(fixed_app.screen, RunsScreen)


async def test_palette_offers_the_run_a_number_names(fixed_app, history_project):
    _, ids = history_project
    async with fixed_app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(fixed_app.runs) == 5)
        await pilot.press("ctrl+p", "4")
        await shows(pilot, fixed_app, "#4  sample_1764320580000")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(fixed_app.screen, RunDetailScreen))
        assert fixed_app.screen.run_id == ids[3]


async def test_colon_sweep_names_the_sweeps_when_none_matches(fixed_app):
    async with fixed_app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(fixed_app.runs) == 5)
        await goto(pilot, "sweep 4")
        await until(pilot, lambda: notified(fixed_app, "no sweep '4' in this project "
                                                       "(sweeps: none yet)"))
        await goto(pilot, "sweep")
        await until(pilot, lambda: notified(fixed_app, "which sweep? :sweep SWEEP"))
        assert isinstance(fixed_app.screen, RunsScreen)
