"""``?``: every key that works on the screen below, with its binding id for keys.toml."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tui.keys import keymap_path


class HelpScreen(ModalScreen):
    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, below: Screen) -> None:
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="keys"):
            yield Static(self._table(), id="key-table")

    def on_mount(self) -> None:
        about = getattr(self.below, "SUMMARY", "") or self.below.__class__.__name__
        self.query_one("#keys").border_title = f"Keys: {about}"
        self.query_one("#keys").border_subtitle = f"remap in {keymap_path()}"

    def _table(self) -> Table:
        table = Table(box=None, pad_edge=False, expand=True)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("does")
        table.add_column("id", style="dim", no_wrap=True)
        seen = set()
        # Deck's own keys (the ones with ids a keys file can remap) first, Textual's after.
        ordered = sorted(self.below.active_bindings.items(),
                         key=lambda item: item[1].binding.id is None)
        for key, active in ordered:
            binding = active.binding
            if (binding.action, id(active.node)) in seen:
                continue
            seen.add((binding.action, id(active.node)))
            keys = ", ".join(
                self.app.get_key_display(b.binding) for k, b in self.below.active_bindings.items()
                if b.binding.action == binding.action and b.node is active.node)
            does = binding.description or binding.action.replace("_", " ")
            style = "" if active.enabled else "dim"
            table.add_row(keys, Text(does, style=style), binding.id or "")
        return table
