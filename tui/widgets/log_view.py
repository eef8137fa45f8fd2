"""``LogView``: a run's output, however long, rendered a page at a time with the Line API.

The file is indexed off the UI thread (``tui.logindex.LineIndex``) by a worker that also follows
appends; ``render_line`` decodes only the lines on screen, which workers have read for it. It
follows the end while it is at the bottom and stops as soon as the user scrolls up; ``G`` (or
End) goes back to following.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from launchdeck.core.text import printable_output
from launchdeck.tui.logindex import LineIndex
from launchdeck.tui.widgets.log_filter import LogLineFilter
from launchdeck.tui.widgets.log_search import LogSearch
from launchdeck.tui.widgets.seen import Seen

# While lines arrive the view is repainted at most 5 times a second, and less often (down to
# once a second) when the dashboard's CPU since the last repaint says that would cost more
# than CPU_SHARE of a core: each repaint draws the whole page, and a log read by a person
# gains nothing from more (a 20 lines/s log cost a fifth of a core at 20 repaints a second).
FAST_POLL = 0.2
PACED_POLL = 1.0
CPU_SHARE = 0.04
SLOW_POLL = 0.5    # while the log is quiet, and how often a hidden view looks whether it shows
STAMP_WIDTH = 9
PRELOAD_LINES = 200  # the end of a followed log, read ahead by the tail worker


class LogView(LogLineFilter, LogSearch, ScrollView, can_focus=True):
    """A followed, searchable view of one log file."""

    BINDINGS = [
        Binding("G", "follow", "Follow", id="log.follow"),
        Binding("end", "follow", "Follow", show=False, id="log.follow_end"),
        Binding("g,home", "top", "Top", show=False, id="log.top"),
        Binding("w", "toggle_wrap", "Wrap", id="log.wrap"),
        Binding("t", "toggle_timestamps", "Times", id="log.timestamps"),
        Binding("n", "next_match", "Next", show=False, id="log.next"),
        Binding("N", "previous_match", "Prev", show=False, id="log.previous"),
        Binding("j,down", "scroll_down", show=False),
        Binding("k,up", "scroll_up", show=False),
        Binding("pagedown,space", "page_down", show=False),
        Binding("pageup,b", "page_up", show=False),
    ]

    DEFAULT_CSS = """
    LogView { background: $surface; }
    LogView > .log--match { background: $warning 40%; }
    LogView > .log--current { background: $accent 40%; }
    LogView > .log--stamp { color: $text-muted; }
    """
    COMPONENT_CLASSES = {"log--match", "log--current", "log--stamp"}

    wrap: reactive[bool] = reactive(False)
    timestamps: reactive[bool] = reactive(False)
    following: reactive[bool] = reactive(True)

    class Grown(Message):
        """The index has new lines (posted from the tail worker)."""

    class PageLoaded(Message):
        """Lines a page needed were read into the index's cache (posted from a worker)."""

        def __init__(self, lines: tuple[int, int]) -> None:
            super().__init__()
            self.lines = lines

    def __init__(self, path: Path, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.index = LineIndex(path)
        self.run_over = threading.Event()  # set by the screen when the run is finished
        self._strips: LRUCache[tuple, list[Strip]] = LRUCache(1024)
        self._max_width = 0
        self._indexed = threading.Event()
        self._page_rows: list[Strip] | None = None  # laid out once per repaint
        self._missing: tuple[int, int] | None = None  # lines this layout lacked
        self._loading: tuple[int, int] | None = None  # lines a worker is reading
        # Cleared while another tab hides the view: nothing is then read, laid out or drawn.
        self._shown = Seen(visible=True)
        self._drawn_lines = 0  # the line count the view last laid out
        self._row_style = None  # this repaint's style and width, looked up once, not per row
        self._row_width = 0

    # -- following ----------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._tail()

    @work(thread=True, exclusive=True, group="log-tail", name="log tail")
    def _tail(self) -> None:
        worker = get_current_worker()
        first = True
        delay = FAST_POLL
        last_cpu, last_post = time.process_time(), time.monotonic()
        while not worker.is_cancelled:
            if not first and not self._shown.is_set():
                # Hidden: the file is read again once the view shows (which wakes this at once).
                self._shown.wait(SLOW_POLL)
                continue
            over = self.run_over.is_set()  # read before indexing: nothing written after is lost
            grew = self.index.update(note_arrival=not first)
            if grew or first:
                self.post_message(self.Grown())
                cpu, now = time.process_time(), time.monotonic()
                if now - last_post > 2 * PACED_POLL:
                    delay = FAST_POLL  # after a quiet spell: the first lines show at once
                else:
                    # The CPU the whole process used since the last repaint, that one's included.
                    delay = min(PACED_POLL, max(FAST_POLL, (cpu - last_cpu) / CPU_SHARE))
                last_cpu, last_post = cpu, now
            else:
                if over:
                    return
                delay = min(delay * 2, SLOW_POLL)
            if grew and self.following:
                # The page the view is about to show, read here rather than on the UI thread.
                count = self.index.line_count
                self.index.load(max(0, count - PRELOAD_LINES), count)
            if first:
                self._indexed.set()
            first = False
            if over:
                time.sleep(FAST_POLL)  # draining the last bytes
            else:
                self.run_over.wait(delay)

    def pause(self, paused: bool) -> None:
        """Stop reading (another screen is on top), or read again if the view shows."""
        self._caught_up_if(self._shown.set_paused(paused))

    def on_hide(self) -> None:
        self._shown.set_visible(False)

    def on_show(self) -> None:
        self._caught_up_if(self._shown.set_visible(True))

    def _caught_up_if(self, seen_again: bool) -> None:
        if seen_again:
            self.post_message(self.Grown())  # what came while it was hidden, drawn now

    def on_log_view_grown(self, event: Grown) -> None:
        event.stop()
        if not self._shown.is_set():
            return  # hidden since: the tail posts again once the view shows
        if self._rows is not None:
            self._scan_filter()  # the new lines, through the filter
        self._update_virtual_size()
        if self.following:
            if not self.show_vertical_scrollbar:
                # The scrollbar may appear with this very growth, after the scroll: it then
                # starts at the top unless told where the view is once it is laid out.
                self.call_after_refresh(self._place_scrollbar)
            self.scroll_end(animate=False, immediate=True, force=True)
        self._strips_for_partial_line_expire()
        self.refresh()

    def _place_scrollbar(self) -> None:
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.position = self.scroll_y

    def _strips_for_partial_line_expire(self) -> None:
        # The line that was last when the view was last laid out may have been partial and
        # grown since (however many lines came after it); everything before it is final.
        last = min(self._drawn_lines, self.index.line_count) - 1
        self._drawn_lines = self.index.line_count
        for key in [k for k in self._strips.keys() if k[0] >= last - 1]:
            self._strips.discard(key)

    def _update_virtual_size(self) -> None:
        width = self.scrollable_content_region.width if self.wrap else self._max_width
        self.virtual_size = Size(width, self.row_count)

    def check_action(self, action: str, parameters) -> bool | None:
        return not (action == "follow" and self.following)  # its key shows when it would act

    def watch_following(self) -> None:
        self.refresh_bindings()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if round(new) >= self.max_scroll_y and new > old:
            self.following = True  # scrolled back down to the end: follow again

    # Any move up stops following before it scrolls, so a line arriving in between cannot
    # pull the view back down. Scrolls here never animate: a log is read, not watched slide.

    def action_scroll_up(self) -> None:
        self.following = False
        self.scroll_relative(y=-1, animate=False)

    def action_page_up(self) -> None:
        self.following = False
        self.scroll_relative(y=-max(1, self.size.height - 1), animate=False)

    def action_scroll_down(self) -> None:
        self.scroll_relative(y=1, animate=False)

    def action_page_down(self) -> None:
        self.scroll_relative(y=max(1, self.size.height - 1), animate=False)

    def _on_mouse_scroll_up(self, event) -> None:
        self.following = False
        super()._on_mouse_scroll_up(event)

    # -- actions ------------------------------------------------------------------------------

    def action_follow(self) -> None:
        self.following = True
        self.scroll_end(animate=False, immediate=True, force=True)

    def action_top(self) -> None:
        self.following = False
        self.scroll_home(animate=False, immediate=True)

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap

    def action_toggle_timestamps(self) -> None:
        self.timestamps = not self.timestamps

    def watch_wrap(self) -> None:
        self._strips.clear()
        self._update_virtual_size()
        if self.following:
            self.scroll_end(animate=False, immediate=True, force=True)
        self.refresh()

    def watch_timestamps(self) -> None:
        self._strips.clear()
        self.refresh()

    # -- rendering ----------------------------------------------------------------------------

    # Lines come from the index's cache only: the UI thread never reads the file. A line not
    # cached yet is drawn blank, and a worker reads it (and a page either side) at once.

    def render_lines(self, crop):
        self._row_style = self.rich_style
        self._row_width = self.scrollable_content_region.width
        self._page_rows = self._page()
        try:
            return super().render_lines(crop)
        finally:
            self._page_rows = self._row_style = None

    def render_line(self, y: int) -> Strip:
        rows = self._page_rows if self._page_rows is not None else self._page()
        style = self._row_style if self._row_style is not None else self.rich_style
        width = self._row_width if self._row_style is not None else \
            self.scrollable_content_region.width
        if y < len(rows):
            strip = rows[y]
            if not self.wrap:
                strip = strip.crop_extend(int(self.scroll_x), int(self.scroll_x) + width, style)
            return strip.extend_cell_length(width, style)
        return Strip.blank(width, style)

    def _page(self) -> list[Strip]:
        """The rows on screen, laid out from the top line, or from the end while following."""
        height = self.size.height
        top = int(self.scroll_y)
        count = self.row_count
        line_of = self._file_line
        self._missing = None
        rows: list[Strip] = []
        line = top
        while len(rows) < height and line < count:
            rows.extend(self._line_strips(line_of(line)))
            line += 1
        if self.wrap and line >= count and len(rows) > height and top >= self.max_scroll_y:
            # Wrapped lines overflow the bottom: lay out backwards so the last line shows.
            rows = []
            line = count - 1
            while len(rows) < height and line >= 0:
                rows[:0] = self._line_strips(line_of(line))
                line -= 1
            rows = rows[-height:]
        if self._missing is not None:
            first, last = self._missing
            self._read_lines(max(0, first - height), last + height + 1)
        return rows[:height]

    def _read_lines(self, first: int, last: int) -> None:
        loading = self._loading
        if loading is not None and loading[0] <= first and last <= loading[1]:
            return  # already on its way
        self._loading = (first, last)
        self._load_lines(first, last)

    @work(thread=True, group="log-page", name="log page")
    def _load_lines(self, first: int, last: int) -> None:
        self.index.load(first, last)
        self.post_message(self.PageLoaded((first, last)))

    def on_log_view_page_loaded(self, event: PageLoaded) -> None:
        event.stop()
        if event.lines == self._loading:
            self._loading = None
        self.refresh()

    def _line_strips(self, number: int) -> list[Strip]:
        width = self.scrollable_content_region.width
        key = (number, width if self.wrap else 0)
        strips = self._strips.get(key)
        if strips is not None:
            return strips
        raw = self.index.cached_line(number)
        if raw is None:
            first, last = self._missing or (number, number)
            self._missing = (min(first, number), max(last, number))
            return [Strip.blank(width, self.rich_style)]  # not kept: drawn again once read
        text = self._line_text(number, raw)
        console = self.app.console
        if self.wrap:
            lines = text.wrap(console, max(1, width), no_wrap=False) or [Text("")]
            strips = [Strip(list(part.render(console)), part.cell_len) for part in lines]
        else:
            strips = [Strip(list(text.render(console)), text.cell_len)]
            if text.cell_len > self._max_width:
                self._max_width = text.cell_len
                self.call_after_refresh(self._update_virtual_size)
        strips = [strip.apply_style(self.rich_style) for strip in strips]
        self._strips[key] = strips
        return strips

    def _line_text(self, number: int, raw: str) -> Text:
        # The run's own output: its colours stay, any other control sequence is shown escaped
        # (a script must not clear, retitle or reset the user's terminal through the view).
        raw = printable_output(raw)
        text = Text.from_ansi(raw) if "\x1b" in raw else Text(raw)
        text.no_wrap = not self.wrap
        term = self.search_term
        if term:
            style = self.get_component_rich_style(
                "log--current" if number == self.current_match else "log--match")
            text.highlight_words([term], style, case_sensitive=False)
        if self.timestamps:
            seen = self.index.arrival(number)
            stamp = datetime.fromtimestamp(seen).strftime("%H:%M:%S ") if seen else "········ "
            text = Text.assemble((stamp, self.get_component_rich_style("log--stamp")), text)
        return text
