"""``?``: every key that works on the screen below, with its binding id for keys.toml."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from launchdeck.tui.widgets.scrolling import Scroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from launchdeck.tui.keys import keymap_path


class HelpScreen(ModalScreen):
    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, below: Screen) -> None:
        super().__init__()
        self.below = below
        # Read now, while ``below`` is the active screen: whether a key acts is asked of it.
        self.rows = self._rows()

    def compose(self) -> ComposeResult:
        with Scroll(id="keys"):
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
        for keys, binding, state in self.rows:
            does = Text(describe(binding))
            if not state:
                does.stylize("dim")
                does.append(" (not now)" if state is False else " (off)", style="dim italic")
            table.add_row(keys, does, binding.id or "")
        return table

    def _rows(self) -> list[tuple[str, Binding, bool | None]]:
        """(keys, binding, state) for every key of the screen below, those hidden included.

        The footer leaves out keys that cannot act now (``check_action`` False); this list is
        the whole set, the way Textual resolves a key: the focused widget first, then up.
        """
        app = self.app
        chosen: dict[str, tuple[object, Binding, bool | None]] = {}
        chain = self.below._modal_binding_chain  # noqa: SLF001 - what active_bindings walks
        for node, bindings in chain:
            for key, binding in bindings:
                state = app._check_action_state(binding.action, node)  # noqa: SLF001
                have = chosen.get(key)
                if have is None or (binding.priority and not have[1].priority) or \
                        (have[2] is False and state is not False):
                    chosen[key] = (node, binding, state)
        grouped: dict[tuple[str, int], list] = {}
        for key, (node, binding, state) in chosen.items():
            grouped.setdefault((binding.action, id(node)), []).append((binding, state))
        rows = []
        for entries in grouped.values():
            binding, state = entries[0]
            keys = ", ".join(app.get_key_display(b) for b, _ in entries)
            rows.append((keys, binding, state))
        # Deck's own keys (the ones with ids a keys file can remap) first, Textual's after.
        rows.sort(key=lambda row: row[1].id is None)
        return rows


#: Words for the actions of Textual's own keys, which come without a description.
ACTION_WORDS = {
    "focus_next": "Next field", "focus_previous": "Previous field",
    "cursor_down": "Down", "cursor_up": "Up", "cursor_left": "Left", "cursor_right": "Right",
    "scroll_down": "Scroll down", "scroll_up": "Scroll up", "scroll_left": "Scroll left",
    "scroll_right": "Scroll right", "scroll_home": "To the top", "scroll_top": "To the top",
    "scroll_end": "To the end", "scroll_bottom": "To the end", "page_down": "Page down",
    "page_up": "Page up", "page_left": "Page left", "page_right": "Page right",
    "first": "First", "last": "Last", "select_cursor": "Open", "command_palette": "Palette",
    "toggle_button": "Switch on or off", "dismiss": "Close",
}


def describe(binding: Binding) -> str:
    """What a key does, in words: its tooltip or description, else words for its action."""
    if binding.tooltip and binding.id and "." in binding.id:
        # Deck's own keys: the longer words, where the footer's are short.
        return binding.tooltip
    if binding.description:
        return binding.description
    name = binding.action.rpartition(".")[2].split("(")[0]
    return ACTION_WORDS.get(name, name.replace("_", " ").capitalize())
