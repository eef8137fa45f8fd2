"""The views ``:name`` leads to, and where home sits in the screen stack.

Kept apart from ``tui.navigation`` (which opens the screens) so that the screens, the command
line and the palette can name views without importing the screens that import them.
"""

from __future__ import annotations

HOME = 1  # index of the runs screen in the screen stack

#: ``:`` names, with what each opens; aliases map onto the first spelling.
NAMES = {
    "runs": "the run queue and history (home)",
    "run": "one run: :run RUN (its id, its run number, or a unique part of its id)",
    "targets": "compute targets",
    "configs": "run configurations",
    "env": "environment variables of a run configuration: :env NAME",
    "compare": "the marked runs side by side",
    "sweep": "one sweep's trials: :sweep SWEEP (sweep3, or 3)",
    "help": "the keys of this screen",
    "quit": "leave the dashboard (runs keep going)",
}
ALIASES = {"home": "runs", "history": "runs", "target": "targets", "runconfigs": "configs",
           "runconfig": "configs", "rc": "configs", "envvars": "env", "vars": "env",
           "sweeps": "sweep",
           "q": "quit", "q!": "quit", "exit": "quit", "keys": "help", "?": "help",
           # One letter each for the views used most (k9s's habit).
           "r": "runs", "t": "targets", "c": "configs", "e": "env"}


def complete_name(typed: str) -> str | None:
    """The name the ``:`` prompt offers for ``typed`` (its first word): the first spelling in
    NAMES, then ALIASES, that starts with it. Tab and enter take this, as the prompt shows it."""
    word = typed.strip().lower()
    if not word or " " in word:
        return None
    for name in (*NAMES, *ALIASES):
        if name.startswith(word):
            return name
    return None


def resolve_name(typed: str) -> str | None:
    """The view ``typed`` names: a name, an alias, or what the prompt completes it to."""
    word = typed.strip().lower()
    if word in NAMES or word in ALIASES:
        return ALIASES.get(word, word)
    completed = complete_name(word)
    return ALIASES.get(completed, completed) if completed else None
