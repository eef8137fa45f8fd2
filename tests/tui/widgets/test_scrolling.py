"""Movement keys at 80x24: j/k in every list and table, every tab scrolls, no screen shadows
them."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable, OptionList

from tests.tui.conftest import make_app, until
from tests.tui.projects import clock
from launchdeck.tui.app import binding_owners
from launchdeck.tui.screens.base import DeckScreen
from launchdeck.tui.screens.run_detail import RunDetailScreen
from launchdeck.tui.widgets.scrolling import MOVEMENT_KEYS

SIZE = (80, 24)


def test_no_screen_takes_a_movement_key():
    for owner in binding_owners():
        if not issubclass(owner, DeckScreen):
            continue
        for binding in owner.BINDINGS:
            if isinstance(binding, Binding):
                taken = {k.strip() for k in binding.key.split(",")} & MOVEMENT_KEYS
                assert not taken, f"{owner.__name__} binds {taken} to {binding.action}"


async def _moves_with_j_and_k(pilot, app, table: DataTable) -> None:
    await until(pilot, lambda: table.row_count >= 2, what=f"rows in #{table.id}")
    table.focus()
    await pilot.pause()
    start = table.cursor_row
    await pilot.press("j")
    assert table.cursor_row == start + 1, f"j in #{table.id}"
    await pilot.press("k")
    assert table.cursor_row == start, f"k in #{table.id}"


async def test_j_and_k_move_in_every_table_and_list(fixed_app, history_project):
    _, ids = history_project
    app = fixed_app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.runs) == 5)
        await pilot.press("T")
        await until(pilot, lambda: app.screen.__class__.__name__ == "TargetsScreen")
        await _moves_with_j_and_k(pilot, app, app.screen.query_one("#targets", DataTable))
        await pilot.press("C")
        await until(pilot, lambda: app.screen.__class__.__name__ == "RunConfigsScreen")
        await _moves_with_j_and_k(pilot, app, app.screen.query_one("#rc-list", DataTable))
        await pilot.press("E")
        await until(pilot, lambda: app.screen.__class__.__name__ == "EnvVarsScreen")
        await _moves_with_j_and_k(pilot, app, app.screen.query_one("#env", DataTable))
        assert app.screen.__class__.__name__ == "EnvVarsScreen"  # k moved, opened nothing
        await pilot.press("y")  # copy from: a pick list
        await until(pilot, lambda: app.screen.__class__.__name__ == "Choose")
        options = app.screen.query_one(OptionList)
        options.add_option("another")  # two entries to move between
        await pilot.pause()
        options.highlighted = 0
        await pilot.press("j")
        assert options.highlighted == 1
        await pilot.press("k")
        assert options.highlighted == 0
        await pilot.press("escape", "R")
        app.action_goto("compare", f"{ids[0]} {ids[2]}")
        await until(pilot, lambda: app.screen.__class__.__name__ == "CompareScreen"
                    and app.screen.query("#compare"))
        await _moves_with_j_and_k(pilot, app, app.screen.query_one("#compare", DataTable))


async def test_every_tab_scrolls_with_arrows_and_j_k(history_project):
    project, ids = history_project
    app = make_app(project, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.runs) == 5)
        app.action_goto("run", ids[0])  # a log, three metrics (two plots), a long info tab
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        screen = app.screen
        for tab, pane in (("1", "#log-view"), ("2", "#metrics-panel"), ("4", "#info-scroll")):
            await pilot.press(tab)
            view = screen.query_one(pane)
            await until(pilot, lambda: view.max_scroll_y >= 2, what=f"{pane} taller than the view")
            await pilot.press("g")
            await until(pilot, lambda: view.scroll_y == 0, what=f"g in {pane}")
            for down, up in (("j", "k"), ("down", "up")):
                await pilot.press(down, down)
                await until(pilot, lambda: view.scroll_y == 2, what=f"{down} in {pane}")
                await pilot.press(up)
                await until(pilot, lambda: view.scroll_y == 1, what=f"{up} in {pane}")
                await pilot.press(up)
                await until(pilot, lambda: view.scroll_y == 0, what=f"{up} again in {pane}")
