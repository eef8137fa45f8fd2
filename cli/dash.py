"""``deck dash`` (and ``deck`` alone): open the dashboard on the current project."""

from __future__ import annotations

import os

from launchdeck.cli.common import project_of

# Over SSH every frame crosses the link: fewer, smaller repaints. Read by Textual at import.
SSH_FPS = "20"


def register(sub) -> None:
    p = sub.add_parser("dash", help="open the dashboard (the default command)",
                       description="The keyboard-driven dashboard: runs, logs, metrics, targets, "
                                   "run configurations. Press ? on any screen for its keys; "
                                   "closing it never stops a run.")
    p.add_argument("--no-mouse", action="store_true",
                   help="do not capture the mouse (the terminal keeps its own selection)")
    p.set_defaults(handler=dash)


def dash(args) -> int:
    project = project_of(args)
    if os.environ.get("SSH_CONNECTION"):
        os.environ.setdefault("TEXTUAL_FPS", SSH_FPS)
    from launchdeck.tui.app import DeckApp

    app = DeckApp(project)
    app.run(mouse=not args.no_mouse)
    return app.return_code or 0
