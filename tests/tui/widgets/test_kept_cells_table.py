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


async def shown_rows(pilot, app: OneTable, count: int) -> KeptCellsTable:
    """Rows run0 (took 0s) to run{count - 1}, on screen and settled."""
    table = app.table
    table.add_column("run", key="run")
    table.add_column("took", key="took")
    width = len(str(count - 1))
    for i in range(count):
        table.add_row(f"run{i:0{width}}", f"{i}s", key=f"run{i:0{width}}")
    await until(pilot, lambda: f"run{min(count, 8) - 1:0{width}}" in screen_text(app),
                what="the rows")
    await pilot.pause()
    return table


def counting(calls: list, function):
    """``function``, noting its first argument past ``self`` in ``calls``."""
    def counted(*args, **kwargs):
        calls.append(args[-1] if len(args) == 1 else args[1])
        return function(*args, **kwargs)
    return counted


async def test_a_changed_cell_repaints_its_row_and_no_other():
    app = OneTable(KeptCellsTable(cursor_type="row"))
    async with app.run_test(size=(60, 12)) as pilot:
        table = await shown_rows(pilot, app, 8)
        painted: list[int] = []
        table.render_line = counting(painted, table.render_line)  # what the screen draws
        table.update_cell("run5", "took", "99s")
        await until(pilot, lambda: "run5  99s" in screen_text(app), what="the new value")
        assert set(painted) == {6}  # the header is line 0: run5 is line 6
        text = screen_text(app)
        assert all(f"run{i}  {i}s" in text for i in range(8) if i != 5)


async def test_in_a_scrolled_table_a_changed_cell_repaints_its_row_and_may_widen():
    app = OneTable(KeptCellsTable(cursor_type="row"))
    async with app.run_test(size=(60, 12)) as pilot:
        table = await shown_rows(pilot, app, 40)
        table.scroll_to(y=20, animate=False, immediate=True)
        await until(pilot, lambda: "run25" in screen_text(app), what="the scrolled rows")
        await pilot.pause()
        painted: list[int] = []
        table.render_line = counting(painted, table.render_line)
        table.update_cell("run25", "took", "250s")
        await until(pilot, lambda: "run25  250s" in screen_text(app), what="the new value")
        assert set(painted) == {6}  # the header, then run20 to run25
        table.update_cell("run25", "took", "1h 02m 03s", update_width=True)
        await until(pilot, lambda: "run25  1h 02m 03s" in screen_text(app),
                    what="the wider value, whole")
        assert "run24  24s" in screen_text(app)


async def test_rows_that_move_keep_their_cells_and_a_click_finds_the_row_shown(monkeypatch):
    app = OneTable(KeptCellsTable(cursor_type="row"))
    async with app.run_test(size=(60, 12)) as pilot:
        table = await shown_rows(pilot, app, 8)
        rendered: list[int] = []  # the rows of cells rendered through Rich
        monkeypatch.setattr(DataTable, "_render_cell",
                            counting(rendered, DataTable._render_cell))
        table.sort("run", reverse=True)
        await until(pilot, lambda: screen_text(app).split("\n")[1].strip().startswith("run7"),
                    what="the rows sorted")
        # Only the rows the cursor left or came to are drawn anew (it stays on the first row:
        # run7 there now, run0 gone to the last): the others only moved.
        assert set(rendered) - {-1} <= {0, 7}  # -1: the header
        await pilot.click(table, offset=(3, 4))  # the fourth row: run4 now
        await until(pilot, lambda: table.cursor_row == 3, what="the clicked row")
        assert table.coordinate_to_cell_key((3, 0)).row_key.value == "run4"


async def test_a_repaint_works_out_its_styles_once_not_per_row(monkeypatch):
    from textual.dom import DOMNode

    app = OneTable(KeptCellsTable(cursor_type="row"))
    async with app.run_test(size=(60, 24)) as pilot:
        table = await shown_rows(pilot, app, 20)
        walks: list[DOMNode] = []
        rich_style = DOMNode.rich_style

        def counted(node):
            walks.append(node)  # each walks the node's ancestors' CSS
            return rich_style.fget(node)

        monkeypatch.setattr(DOMNode, "rich_style", property(counted))
        for i in range(20):
            table.update_cell(f"run{i:02}", "took", f"{i}m")
        await until(pilot, lambda: "run19  19m" in screen_text(app), what="every row anew")
        assert len(walks) <= 4  # the table's, the header's: not one or two per row
