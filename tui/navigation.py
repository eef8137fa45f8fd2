"""Where ``:name`` (and the palette, and the screen keys) lead."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from launchdeck.tui.screens.base import DeckScreen
from launchdeck.tui.screens.compare import CompareScreen
from launchdeck.tui.screens.envvars import EnvVarsScreen
from launchdeck.tui.screens.run_detail import RunDetailScreen
from launchdeck.tui.screens.runconfigs import RunConfigsScreen
from launchdeck.tui.screens.runs import RunsScreen
from launchdeck.tui.screens.sweep import SweepScreen
from launchdeck.tui.screens.targets import TargetsScreen
from launchdeck.tui.views import HOME, NAMES, resolve_name

if TYPE_CHECKING:
    from launchdeck.tui.app import DeckApp


def open_screen(app: "DeckApp", name: str, arg: str = "") -> None:
    typed, name = name, resolve_name(name) or name.lower()
    home = app.screen_stack[HOME]
    if name == "quit":
        leave_screens(app, app.exit, down_to=HOME)
    elif name == "help":
        app.action_help()
    elif name == "runs":
        leave_screens(app, lambda: _to_home(app))
    elif name == "run":
        if not arg:
            app.notify("which run? :run RUN (its id, number or a unique part of its id)",
                       severity="warning")
            return
        run = resolve_or_tell(app, arg, ask=lambda ids: _ask_which_run(
            app, arg, ids, lambda run_id: app.push_screen(RunDetailScreen(run_id))))
        if run is not None:
            app.push_screen(RunDetailScreen(run.run_id))
    elif name == "compare":
        ids = arg.split() if arg else (home.marked_runs() if isinstance(home, RunsScreen) else [])
        if len(ids) < 2:
            app.notify("mark two runs or more with space, then press =", severity="warning")
            return
        _resolve_each(app, ids, [], lambda run_ids: app.push_screen(CompareScreen(run_ids)))
    elif name == "sweep":
        _open_sweep(app, arg)
    elif name in ("targets", "configs", "env"):
        if name == "env":
            current = getattr(app.screen, "current_runconfig", None)
            screen = EnvVarsScreen(arg or (current() if current else None))
        else:
            screen = TargetsScreen() if name == "targets" else RunConfigsScreen()

        def replace() -> None:
            _to_home(app)
            app.push_screen(screen)

        leave_screens(app, replace)
    else:
        app.notify(f":{typed}: no such view (try {', '.join(NAMES)})", severity="warning")


def _open_sweep(app: "DeckApp", ref: str) -> None:
    """``:sweep SWEEP``: the sweep named ``sweep3`` or ``3`` (the store's own rule)."""
    from launchdeck.core.sweeps.store import SweepNotFound, SweepStore

    if not ref:
        known = ", ".join(sorted(app.sweeps)) or "none yet"
        app.notify(f"which sweep? :sweep SWEEP (sweeps: {known})", severity="warning")
        return
    try:
        sweep_id = SweepStore(app.project.deck_dir).get(ref.strip()).sweep_id
    except SweepNotFound as exc:
        app.notify(str(exc), severity="warning", timeout=8)
        return
    app.push_screen(SweepScreen(sweep_id))


def resolve_or_tell(app: "DeckApp", ref: str,
                    ask: Callable[[tuple[str, ...]], None] | None = None):
    """The run ``ref`` names by the one rule of ``core.history.runref``; None otherwise, and a
    notification saying why. A part several ids hold goes to ``ask`` (with their ids) when
    given; without it the notification names the candidates."""
    from launchdeck.core.errors import AmbiguousRunRef, RunNotFound
    from launchdeck.core.history.runref import resolve_run_ref

    try:
        return resolve_run_ref(ref, app.runs.values())
    except AmbiguousRunRef as exc:
        if ask is None:
            app.notify(str(exc), severity="warning", timeout=8)
        else:
            ask(exc.run_ids)
        return None
    except RunNotFound as exc:
        app.notify(str(exc), severity="warning", timeout=8)
        return None


def _resolve_each(app: "DeckApp", refs: list[str], found: list[str],
                  then: Callable[[list[str]], None]) -> None:
    """``then`` with the run id of each of ``refs`` in order, asking which run an ambiguous
    one means (escape there, or a ref that names no run, gives up: said, nothing opened)."""
    while len(found) < len(refs):
        ref = refs[len(found)]

        def picked(run_id: str) -> None:
            _resolve_each(app, refs, [*found, run_id], then)

        run = resolve_or_tell(app, ref, ask=lambda ids: _ask_which_run(app, ref, ids, picked))
        if run is None:
            return  # told why, or asking: the pick goes on from there
        found.append(run.run_id)
    then(found)


def _ask_which_run(app: "DeckApp", ref: str, run_ids: tuple[str, ...],
                   then: Callable[[str], None]) -> None:
    """A pick list of the runs whose ids hold ``ref``: enter gives ``then`` the one picked,
    escape nothing."""
    from launchdeck.tui.screens.dialogs import Choose

    def label(run_id: str) -> str:
        run = app.runs[run_id]
        number = f"#{run.run_number}" if run.run_number else ""
        return f"{number:>5}  {run_id}  {run.status.value}"

    def chosen(run_id: str | None) -> None:
        if run_id is not None:
            then(run_id)

    app.push_screen(Choose(f"Which run? {len(run_ids)} runs hold {ref.strip()!r}:",
                           [(run_id, label(run_id)) for run_id in run_ids]), chosen)


def leave_screens(app: "DeckApp", then: Callable[[], None], *,
                  down_to: int | None = None) -> None:
    """``then()`` once every screen above ``down_to`` (default: above home) agrees to go.

    A screen with unsaved edits asks first; if the user keeps them, nothing happens.
    """
    bottom = HOME + 1 if down_to is None else down_to
    screens = [s for s in app.screen_stack[bottom:] if isinstance(s, DeckScreen)]

    def next_one() -> None:
        if screens:
            screens.pop().leave(next_one)
        else:
            then()

    next_one()


def _to_home(app: "DeckApp") -> None:
    while len(app.screen_stack) > HOME + 1:
        app.pop_screen()
