"""``LogTail``: the live end of one run's log, as many lines as fit, for the runs preview.

A thread reads only the end of the file (``tui.logindex.tail_lines``), never the whole log,
and only while the widget shows: hidden (a narrow terminal, another screen on top) it reads
nothing. It reads again when the file's size changes, paced like the log view's follow (at
most once a second, less when the dashboard is busy), and not at all once the run is over
and its end was read. Changing runs waits for the cursor to rest a moment, so a held ``j``
costs no reads.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from rich.text import Text
from textual import events, work
from textual.widgets import Static
from textual.worker import get_current_worker

from launchdeck.core.text import printable_output
from launchdeck.tui.logindex import tail_lines
from launchdeck.tui.widgets.seen import Seen

FAST_POLL = 1.0   # at most this often while lines arrive (a glance, not the log view)
PACED_POLL = 2.0  # when the process is busy
CPU_SHARE = 0.04  # as the log view: what the dashboard may spend following
REST = 0.25       # the cursor rests this long on a run before its log is read
IDLE_POLL = 1.0   # how often a quiet, still running log is looked at


class LogTail(Static):
    """The last lines of a log file, following it while its run goes."""

    DEFAULT_CSS = """
    LogTail { height: 1fr; background: $surface; color: $text; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self._lines: Text = Text("")
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._over = False
        self._changed = threading.Event()  # another run, or its end, or a new height
        # Read only while shown (Show and Hide tell) and not under another screen (pause).
        self._shown = Seen(visible=False)
        # Lines that fit, set on the app's thread: the reader thread must not ask the layout
        # (``self.size``), which needs the running app and fails while it shuts down.
        self._height = 0
        self.reads = 0  # how many times the file was read (tests count them)
        self.shown_for: Path | None = None  # the log whose lines show

    def on_mount(self) -> None:
        self._follow()

    def watch(self, path: Path | None, *, over: bool) -> None:
        """Show the end of ``path`` (None: nothing); ``over``: its run writes no more."""
        with self._lock:
            if path == self._path and over == self._over:
                return
            if path != self._path:
                self._show(Text(""))
            self._path, self._over = path, over
        self._changed.set()

    def pause(self, paused: bool) -> None:
        """Stop reading (another screen is on top), or read again if the tail shows."""
        self._shown.set_paused(paused)
        self._read_if_seen()

    def on_hide(self) -> None:
        self._shown.set_visible(False)

    def on_show(self) -> None:
        self._shown.set_visible(True)
        self._read_if_seen()

    def _read_if_seen(self) -> None:
        if self._shown.is_set():
            self._changed.set()

    def on_resize(self, event: events.Resize) -> None:
        self._height = event.size.height
        self._changed.set()  # more or fewer lines fit

    @work(thread=True, exclusive=True, group="log-tail-preview", name="preview log tail")
    def _follow(self) -> None:
        worker = get_current_worker()
        read_path, read_size, read_over = None, -2, False
        delay = FAST_POLL
        last_cpu, last_read = time.process_time(), time.monotonic()
        while not worker.is_cancelled:
            if not self._shown.is_set():
                self._shown.wait(IDLE_POLL)
                continue
            with self._lock:
                path, over = self._path, self._over
            if path != read_path:
                read_size = -2
                # Let the cursor rest: a run only passed over is never read.
                self._changed.clear()
                if self._changed.wait(REST):
                    continue
            elif read_over and over:
                self._changed.wait(IDLE_POLL)  # its end is read: nothing more will come
                self._changed.clear()
                continue
            rows = self._height
            if path is None or rows <= 0:
                read_path = path
                self._changed.wait(IDLE_POLL)
                self._changed.clear()
                continue
            try:
                size = path.stat().st_size
            except OSError:
                size = -1
            if size != read_size or path != read_path or rows != getattr(self, "_rows", 0):
                size, lines = tail_lines(path, rows)
                self.reads += 1
                self._rows = rows
                raw = "\n".join(printable_output(line) for line in lines)
                # The run's colours stay; other control sequences are shown escaped.
                text = Text.from_ansi(raw, no_wrap=True, overflow="ellipsis") \
                    if "\x1b" in raw else Text(raw, no_wrap=True, overflow="ellipsis")
                if not lines:
                    text = Text("no output" if over else "no output yet", style="dim")
                self.app.call_from_thread(self._show_lines, path, text)
                cpu, now = time.process_time(), time.monotonic()
                # Once a second at most; less while the dashboard is busy (as the log view).
                delay = min(PACED_POLL, max(FAST_POLL, (cpu - last_cpu) / CPU_SHARE)) \
                    if now - last_read < 2 * PACED_POLL else FAST_POLL
                last_cpu, last_read = cpu, now
            else:
                delay = IDLE_POLL
            read_path, read_size, read_over = path, size, over
            self._changed.wait(delay)
            self._changed.clear()

    def _show_lines(self, path: Path, text: Text) -> None:
        with self._lock:
            if path != self._path:
                return  # another run was chosen meanwhile
        self._show(text)
        self.shown_for = path

    def _show(self, text: Text) -> None:
        # Not Static.update: that lays the whole screen out again, and this widget's size
        # never depends on its lines (it fills the room the preview leaves it).
        self._lines = text
        self.refresh()

    def render(self) -> Text:
        return self._lines

    @property
    def settled(self) -> bool:
        """Whether the lines shown are those of the run chosen last (tests wait for it)."""
        return self.shown_for == self._path
