"""``deck history repair``: rebuild the run history from the run folders."""

from __future__ import annotations

from launchdeck.cli.common import project_of


def register(sub) -> None:
    history = sub.add_parser("history", help="check and repair the run history",
                             description="The run history database (.deck/history.db).")
    hsub = history.add_subparsers(dest="history_command", metavar="COMMAND", required=True)
    p = hsub.add_parser(
        "repair", help="rebuild the run history from the run folders",
        description="Check .deck/history.db; a damaged one is moved aside (never overwritten) "
                    "and a new one is built. Every run folder's record (run.json) that the "
                    "database lacks is put back.")
    p.set_defaults(handler=repair_history)


def repair_history(args) -> int:
    from launchdeck.core.history.db import repair
    from launchdeck.core.text import printable

    project = project_of(args)
    report = repair(project.deck_dir / "history.db")
    if report.moved_aside is not None:
        print(f"The run history was damaged; it was moved to {report.moved_aside}")
    print(f"Restored {len(report.restored)} run(s) from their run folders")
    for name, why in report.problems:
        print(printable(f"  not restored: {name}: {why}"))
    return 1 if report.problems else 0
