"""Command palette (ctrl+p): screens, the actions of the current screen, and runs.

Runs follow the rule of ``core.history.runref``, as ``:run`` and the CLI do: a query that names
one run (its id, its run number, a unique part of its id) offers that run alone; a part that
several ids hold offers them all, for the user to choose; nothing else is offered.
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.system_commands import SystemCommandsProvider

from launchdeck.tui.views import NAMES

RUN_HITS = 30


class ScreenCommands(Provider):
    """Go to a view."""

    def _entries(self):
        for name, about in NAMES.items():
            if name in ("run", "help", "quit"):
                continue
            yield f"Go to {name}", about, partial(self.app.action_goto, name)

    async def discover(self) -> Hits:
        # What ctrl+p opens on: the views, then the newest runs (actions come when typed).
        for text, about, command in self._entries():
            yield DiscoveryHit(text, command, help=about)
        for hit in recent_run_hits(self.app):
            yield hit

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, about, command in self._entries():
            if score := matcher.match(text):
                yield Hit(score, matcher.highlight(text), command, help=about)


class ActionCommands(Provider):
    """What the keys of the current screen do, by name."""

    def _entries(self):
        seen = set()
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            # Deck's own keys (they have ids): Textual's movement keys are no commands.
            if not binding.description or not binding.id or binding.action in seen \
                    or not active.enabled:
                continue
            seen.add(binding.action)
            display = self.app.get_key_display(binding)
            yield (binding.description, display,
                   partial(self.app.run_action, binding.action, active.node))

    async def discover(self) -> Hits:
        return  # found by typing: the palette opens on views and runs
        yield

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, key, command in self._entries():
            if score := matcher.match(text):
                yield Hit(score, matcher.highlight(text), command, help=f"key: {key}")


class RunCommands(Provider):
    """Open a run by its id, its run number or a part of its id."""

    async def search(self, query: str) -> Hits:
        from launchdeck.core.errors import RunNotFound
        from launchdeck.core.history.runref import resolve_run_ref

        query = query.strip()
        if not query:
            return
        runs = getattr(self.app, "runs", {})
        try:
            found = [resolve_run_ref(query, runs.values())]
        except RunNotFound:
            found = sorted((r for r in runs.values() if query in r.run_id),
                           key=lambda r: r.created_utc, reverse=True)[:RUN_HITS]
        matcher = self.matcher(query)
        for run in found:
            number = f"#{run.run_number}  " if run.run_number else ""
            text = f"{number}{run.run_id}  {run.status.value}  {run.script}"
            yield Hit(1.0, matcher.highlight(text), partial(self.app.action_goto, "run",
                                                            run.run_id),
                      text=text, help=f"{run.run_configuration} on {run.target}")


RECENT_RUNS = 8


def recent_run_hits(app) -> list[DiscoveryHit]:
    """The newest runs, for the palette to open on."""
    runs = sorted(getattr(app, "runs", {}).values(), key=lambda r: r.created_utc, reverse=True)
    return [DiscoveryHit(f"{f'#{run.run_number}  ' if run.run_number else ''}"
                         f"{run.run_id}  {run.status.value}  {run.script}",
                         partial(app.action_goto, "run", run.run_id),
                         help=f"{run.run_configuration} on {run.target}")
            for run in runs[:RECENT_RUNS]]


class QuietSystemCommands(SystemCommandsProvider):
    """Textual's own commands (theme, screenshot, quit), found by typing, not opened on."""

    async def discover(self) -> Hits:
        return
        yield
