"""``RunUsage``: a running run's CPU and memory now, one line over its Info tab.

It owns the run's ``core.runs.usage.UsageMeter`` (an engine or a link to the run's host, opened
on the first read) and reads it every USAGE_EVERY seconds, only while ``shown()`` says the line
is on screen: a meter read costs the run's host a look at its processes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from rich.markup import escape
from textual import work
from textual.widgets import Static

from launchdeck.tui.format import format_size

if TYPE_CHECKING:
    from launchdeck.core.history.records import RunRecord
    from launchdeck.core.project import Project
    from textual.timer import Timer

USAGE_EVERY = 3.0  # seconds between reads of a running run's CPU and memory


class RunUsage(Static):
    """``now  CPU 87 % of a core · memory 340.0 MiB · 3 processes``; hidden when not running."""

    def __init__(self, project: Project, record: Callable[[], RunRecord | None], *,
                 shown: Callable[[], bool], id: str | None = None) -> None:
        super().__init__("", id=id)
        self.project = project
        self._record = record  # the run's record as history has it now
        self._shown = shown
        self.meter = None  # core.runs.usage.UsageMeter of the run, while the line reads it
        self._timer: Timer | None = None

    def on_mount(self) -> None:
        self._timer = self.set_interval(USAGE_EVERY, self.read)

    def pause(self, paused: bool) -> None:
        """No reads while another screen covers this one's; reads again once back on top."""
        if self._timer is not None:
            if paused:
                self._timer.pause()
            else:
                self._timer.resume()

    def read_now(self) -> None:
        """Just shown: read at once, and the next read a whole interval later."""
        if self.meter is None:
            self.read()
            if self._timer is not None:
                self._timer.reset()

    def read(self) -> None:
        """Read the run's CPU and memory again, only while the line is shown."""
        if not self._shown():
            return
        from launchdeck.core.runs.usage import UsageMeter

        run = self._record()
        why_not = "not running" if run is None else UsageMeter.measurable(self.project, run)
        if why_not is not None:
            # A finished run has no figures to show: the line goes rather than say so.
            self._show(None if why_not == "not running" else f"[dim]{why_not}[/]")
            if self.meter is not None:
                self._close_meter()
            return
        if self.meter is None or self.meter.run.external_id != run.external_id:
            if self.meter is not None:
                self._close_meter()
            self.meter = UsageMeter(self.project, run)
        self._read_worker(self.meter)

    @work(exclusive=True, group="run-usage", name="run usage")
    async def _read_worker(self, meter) -> None:
        try:
            usage = await meter.read()
        except Exception as exc:  # an engine or link that fails: said in place of the figures
            self._show(f"[dim]cannot read: {escape(f'{type(exc).__name__}: {exc}')}[/]")
            return
        if usage is None:
            self._show(None)
            return
        cpu = "measuring…" if usage.cpu_percent is None else \
            f"{usage.cpu_percent:.0f} % of a core"
        parts = [f"CPU {cpu}", f"memory {format_size(usage.memory_bytes)}"]
        if usage.processes is not None:
            parts.append(f"{usage.processes} process{'es' if usage.processes != 1 else ''}")
        self._show(" · ".join(parts))

    def _show(self, text: str | None) -> None:
        self.display = text is not None
        if text is not None:
            self.update(f"[b]now[/]  {text}")

    def _close_meter(self) -> None:
        meter, self.meter = self.meter, None
        self.run_worker(meter.close(), group="run-usage-close")

    async def on_unmount(self) -> None:
        if self.meter is not None:
            await self.meter.close()
