"""Table: what it shows after rows arrive follows the widths of their cells."""

from textual.app import App, ComposeResult
from textual.widgets import DataTable

from launchdeck.tui.widgets.table import Table


class OneTable(App):
    CSS = "DataTable { height: 1fr; }"  # as on the screens: rows do not resize it

    def __init__(self, table: DataTable) -> None:
        super().__init__()
        self.table = table

    def compose(self) -> ComposeResult:
        yield self.table


async def _line_after_a_repaint_before_idle(table: DataTable) -> str:
    app = OneTable(table)
    async with app.run_test(size=(60, 8)) as pilot:
        await pilot.pause()  # mounted and focused: its look no longer changes
        table.add_column("name", key="name")
        table.add_column("state", key="state")
        table.add_row("broken", "✗ bad file", key="broken")
        table.render_line(1)  # a repaint that comes before the table measures the new row
        await pilot.pause()
        return table.render_line(1).text


async def test_a_row_shows_whole_when_a_repaint_came_before_its_widths():
    assert "broken  ✗ bad file" in await _line_after_a_repaint_before_idle(Table())


async def test_the_plain_datatable_it_fixes_cuts_the_row():
    # If this starts failing, Textual fixed it and Table can go.
    assert "✗ bad file" not in await _line_after_a_repaint_before_idle(DataTable())
