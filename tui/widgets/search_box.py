"""``SearchBox``: a one-line input that opens at once and that escape closes.

Keys typed ahead (a slow SSH link delivers a burst at once) must land where the user meant:
``open()`` takes focus synchronously (``Screen.set_focus``), so the keys after the one that
opened the box reach it; enter and escape are ordinary keys, handled in order after the text
typed before them; keys that reach the box after it closed are handed to whatever has focus now.
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class SearchBox(Input):
    BINDINGS = [Binding("escape", "close", "Close", id="search.close")]

    #: Whether enter hands focus back (a filter) or keeps it (a search: enter finds the next).
    KEEP_FOCUS_ON_ENTER = False

    class Closed(Message):
        def __init__(self, box: "SearchBox") -> None:
            super().__init__()
            self.box = box

        @property
        def control(self) -> "SearchBox":
            return self.box

    def on_mount(self) -> None:
        self.display = False

    def open(self, value: str | None = None) -> None:
        if value is not None:
            self.value = value
        if not self.has_focus:
            self._before = self.screen.focused
        self.display = True  # an inline style: applies now, unlike a CSS class
        self.screen.set_focus(self)

    def give_back_focus(self) -> None:
        """Focus what had it before ``open()``."""
        before = getattr(self, "_before", None)
        if before is not None and before.is_attached:
            self.screen.set_focus(before)

    async def action_submit(self) -> None:
        self.post_message(self.Submitted(self, self.value))
        if not self.KEEP_FOCUS_ON_ENTER:
            if not self.value.strip():
                self.display = False
            self.give_back_focus()
            self.hand_on_typed_ahead()

    def action_close(self) -> None:
        self.display = False
        self.give_back_focus()
        self.post_message(self.Closed(self))
        self.hand_on_typed_ahead()

    def hand_on_typed_ahead(self) -> None:
        """Send keys already queued here (typed after enter or escape) back through the app.

        Focus has moved (perhaps to another screen, which may close this box's screen and
        drop its queue): dispatched again from the top, they reach what has focus now.
        """
        queue = self._message_queue  # noqa: SLF001 - Textual has no API to peek at it
        others = []
        while not queue.empty():
            message = queue.get_nowait()
            if isinstance(message, events.Key):
                self.app.post_message(events.Key(message.key, message.character))
            else:
                others.append(message)
        for message in others:
            queue.put_nowait(message)

    async def _on_key(self, event: events.Key) -> None:
        if self.has_focus:
            # Enter and escape act here, in turn with the text before them; as bindings they
            # would act only after the key bubbled up to the app, behind the keys after them.
            if event.key in ("enter", "escape"):
                event.stop()
                event.prevent_default()
                if event.key == "enter":
                    await self.action_submit()
                else:
                    self.action_close()
                return
            await super()._on_key(event)
            return
        # Typed after enter or escape, but queued here before focus moved: dispatch it again
        # from the top, as if it arrived now (priority keys included).
        event.stop()
        event.prevent_default()
        self.app.post_message(events.Key(event.key, event.character))
