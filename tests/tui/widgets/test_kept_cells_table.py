"""KeptCellsTable: a changed cell shows at once, and repaints its own row only."""

from textual.app import App, ComposeResult

from tests.tui.conftest import screen_text, until
from launchdeck.tui.widgets.kept_cells_table import KeptCellsTable


class OneTable(App):
    CSS = "KeptCellsTable { height: 1fr; }"

    def __init__(self, table: KeptCellsTable) -> None:
        super().__init__()
        self.table = table

    def compose(self) -> ComposeResult:
        yield self.table


async def test_a_changed_cell_repaints_its_row_and_no_other():
    table = KeptCellsTable(cursor_type="row")
    app = OneTable(table)
    async with app.run_test(size=(60, 12)) as pilot:
        table.add_column("run", key="run")
        table.add_column("took", key="took")
        for i in range(8):
            table.add_row(f"run{i}", f"{i}s", key=f"run{i}")
        await until(pilot, lambda: "run7" in screen_text(app), what="the rows")
        await pilot.pause()
        painted: list[int] = []
        render_line = table.render_line

        def counted(y: int):
            painted.append(y)
            return render_line(y)

        table.render_line = counted  # what the screen asks the table to draw
        table.update_cell("run5", "took", "99s")
        await until(pilot, lambda: "run5  99s" in screen_text(app), what="the new value")
        assert set(painted) == {6}  # the header is line 0: run5 is line 6
        text = screen_text(app)
        assert all(f"run{i}  {i}s" in text for i in range(8) if i != 5)


async def test_a_changed_cell_shows_in_a_scrolled_table_and_widens_its_column():
    table = KeptCellsTable(cursor_type="row")
    app = OneTable(table)
    async with app.run_test(size=(60, 12)) as pilot:
        table.add_column("run", key="run")
        table.add_column("took", key="took")
        for i in range(40):
            table.add_row(f"run{i:02}", f"{i}s", key=f"run{i:02}")
        await until(pilot, lambda: "run10" in screen_text(app), what="the rows")
        table.scroll_to(y=20, animate=False, immediate=True)
        await until(pilot, lambda: "run25" in screen_text(app), what="the scrolled rows")
        table.update_cell("run25", "took", "1h 02m 03s", update_width=True)
        await until(pilot, lambda: "run25  1h 02m 03s" in screen_text(app),
                    what="the wider value, whole")
        assert "run24  24s" in screen_text(app)
