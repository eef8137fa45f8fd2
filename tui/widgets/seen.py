"""``Seen``: whether a widget whose thread reads a file is on screen, for that thread to wait on."""

from __future__ import annotations

import threading


class Seen:
    """Seen while its tab shows (``visible``) and no other screen covers its own (``paused``).

    The reading thread waits on it; the app's thread changes it from Show, Hide and screen
    suspend events.
    """

    def __init__(self, *, visible: bool) -> None:
        self._event = threading.Event()
        self._visible = visible
        self._paused = False
        self._update()

    def set_visible(self, visible: bool) -> bool:
        """Returns whether it has just become seen."""
        self._visible = visible
        return self._update()

    def set_paused(self, paused: bool) -> bool:
        """Returns whether it has just become seen."""
        self._paused = paused
        return self._update()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)

    def _update(self) -> bool:
        if self._visible and not self._paused:
            was = self._event.is_set()
            self._event.set()
            return not was
        self._event.clear()
        return False
