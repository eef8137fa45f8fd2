"""``Toggle``: a checkbox whose state reads without colour: ``[x]`` on, ``[ ]`` off."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class Toggle(Checkbox):
    """Textual's Checkbox draws the same X on and off, told apart by colour alone: under
    NO_COLOR, or on a monochrome terminal, the two look alike. This one differs by symbol."""

    @property
    def _button(self) -> Content:
        style = self.get_visual_style("toggle--button")
        mark = "x" if self.value else " "
        return Content.assemble("[", (mark, style), "]")
