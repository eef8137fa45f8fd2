"""KeptCellsTable: a changed cell shows at once, and repaints its own row only."""

from textual.app import App, ComposeResult
from textual.widgets import DataTable

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


async def test_rows_that_move_keep_their_cells_and_a_click_finds_the_row_shown(monkeypatch):
    table = KeptCellsTable(cursor_type="row")
    app = OneTable(table)
    async with app.run_test(size=(60, 12)) as pilot:
        table.add_column("run", key="run")
        table.add_column("took", key="took")
        for i in range(8):
            table.add_row(f"run{i}", f"{i}s", key=f"run{i}")
        await until(pilot, lambda: "run7" in screen_text(app), what="the rows")
        await pilot.pause()
        rendered: list[int] = []
        render_cell = DataTable._render_cell

        def counted(self, row_index, column_index, *args, **kwargs):
            if row_index >= 0:
                rendered.append(row_index)
            return render_cell(self, row_index, column_index, *args, **kwargs)

        monkeypatch.setattr(DataTable, "_render_cell", counted)
        table.sort("run", reverse=True)
        await until(pilot, lambda: screen_text(app).split("\n")[1].strip().startswith("run7"),
                    what="the rows sorted")
        # Only the rows the cursor left or came to are drawn anew (it stays on the first row:
        # run7 there now, run0 gone to the last): the others only moved.
        assert set(rendered) <= {0, 7}
        await pilot.click(table, offset=(3, 4))  # the fourth row: run4 now
        await until(pilot, lambda: table.cursor_row == 3, what="the clicked row")
        assert table.coordinate_to_cell_key((3, 0)).row_key.value == "run4"


async def test_a_repaint_works_out_its_styles_once_not_per_row(monkeypatch):
    from textual.dom import DOMNode

    table = KeptCellsTable(cursor_type="row")
    app = OneTable(table)
    async with app.run_test(size=(60, 24)) as pilot:
        table.add_column("run", key="run")
        table.add_column("took", key="took")
        for i in range(20):
            table.add_row(f"run{i}", f"{i}s", key=f"run{i}")
        await until(pilot, lambda: "run19" in screen_text(app), what="the rows")
        await pilot.pause()
        walks: list[DOMNode] = []
        rich_style = DOMNode.rich_style

        def counted(node):
            walks.append(node)  # each walks the node's ancestors' CSS
            return rich_style.fget(node)

        monkeypatch.setattr(DOMNode, "rich_style", property(counted))
        for i in range(20):
            table.update_cell(f"run{i}", "took", f"{i}m")
        await until(pilot, lambda: "run19  19m" in screen_text(app), what="every row anew")
        assert len(walks) <= 4  # the table's, the header's: not one or two per row
