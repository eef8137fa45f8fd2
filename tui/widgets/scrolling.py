"""The movement keys every list, table and scrolling tab shares: the arrows, and ``j``/``k``,
``g``/``G`` for a k9s or vim hand. Screens keep these letters free (a test checks)."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import OptionList

#: Keys no screen may take for itself: they move, wherever focus is.
MOVEMENT_KEYS = frozenset({"j", "k", "g", "G", "up", "down"})

SCROLL_BINDINGS = [
    Binding("j", "scroll_down", show=False),
    Binding("k", "scroll_up", show=False),
    Binding("g", "scroll_home", show=False),
    Binding("G", "scroll_end", show=False),
]
CURSOR_BINDINGS = [
    Binding("j", "cursor_down", show=False),
    Binding("k", "cursor_up", show=False),
]


class Scroll(VerticalScroll):
    """A scrolling pane that ``j``/``k``/``g``/``G`` scroll as the arrows do."""

    BINDINGS = SCROLL_BINDINGS


class Options(OptionList):
    """A pick list that ``j``/``k`` move through as the arrows do (``g``/``G``: first, last)."""

    BINDINGS = [*CURSOR_BINDINGS, Binding("g", "first", show=False),
                Binding("G", "last", show=False)]
