"""``RunActions``: what the runs screen does to runs: cancel, rerun, delete, move in the queue.

Apart from ``runs`` only to keep each module readable: it is a mixin of ``RunsScreen`` and uses
its table and the app. An action acts on the marked runs, or else on the one under the cursor
(a sweep's row: cancel acts on the sweep); cancel and delete ask first, and delete refuses a
run still going before it asks. The work itself is done by ``tui.actions``, in workers.
"""

from __future__ import annotations

from launchdeck.core.runs.state import RunState


class RunActions:
    """Cancel, rerun, delete and move of the runs the keys are aimed at."""

    def _targets(self) -> list[str]:
        """The marked runs, or the one under the cursor (runs history still has)."""
        marked = self.marked_runs()
        if marked:
            return [rid for rid in marked if rid in self.deck.runs]
        run_id = self.table.cursor_run_id
        return [run_id] if run_id in self.deck.runs else []

    def _cursor_queued(self) -> bool:
        run = self.deck.runs.get(self.table.cursor_run_id or "")
        return run is not None and run.status is RunState.QUEUED

    def _cursor_sweep(self) -> str | None:
        """The sweep whose row the cursor is on."""
        key = self.table.cursor_run_id
        return key if key in self.table.sweep_rows else None

    def _sweep_going(self) -> bool:
        sweep_id = self._cursor_sweep()
        return sweep_id is not None and not self.table.marked and \
            self.table.sweep_rows[sweep_id].status.is_active

    def action_cancel(self) -> None:
        from launchdeck.tui import actions
        from launchdeck.tui.screens.dialogs import Confirm

        if self._sweep_going():
            actions.confirm_cancel_sweep(self, self._cursor_sweep())
            return
        ids = [rid for rid in self._targets() if self.deck.runs[rid].status.is_active]
        if not ids:
            self.notify("nothing to cancel: the run is over", severity="warning")
            return
        what = ids[0] if len(ids) == 1 else f"{len(ids)} runs"
        self.app.push_screen(
            Confirm(f"Cancel {what}? {'Their processes are' if len(ids) > 1 else 'Its process is'}"
                    " stopped; the output so far is kept.",
                    yes="Cancel run" if len(ids) == 1 else f"Cancel {len(ids)} runs"),
            lambda yes: yes and self._cancel(ids))

    def _cancel(self, ids: list[str]) -> None:
        """Cancel the runs asked about; their marks go with the question (as after a delete),
        so the next key acts on the cursor again, not on runs already dealt with."""
        from launchdeck.tui import actions

        actions.cancel_in_worker(self, ids)
        if self.table.marked:
            self.action_clear_marks()

    def action_delete(self) -> None:
        from launchdeck.core.errors import RunStateError
        from launchdeck.core.history.removal import check_deletable
        from launchdeck.tui import actions
        from launchdeck.tui.screens.dialogs import Confirm

        runs = [self.deck.runs[rid] for rid in self._targets()]
        if not runs:
            return
        try:  # refused here, before asking: a run still going is canceled first (c)
            check_deletable(runs)
        except RunStateError:
            going = [r for r in runs if r.status.is_active]
            what = going[0].run_id if len(going) == 1 else f"{len(going)} of them"
            self.notify(f"{what} {'is' if len(going) == 1 else 'are'} not over: cancel first "
                        "(c), then delete", title="Nothing deleted", severity="warning",
                        timeout=8)
            return
        what = runs[0].run_id if len(runs) == 1 else f"{len(runs)} runs"
        self.app.push_screen(
            Confirm(f"Delete {what}? {'Their' if len(runs) > 1 else 'Its'} history, outputs "
                    "and log are removed for good.",
                    yes="Delete run" if len(runs) == 1 else f"Delete {len(runs)} runs"),
            lambda yes: yes and actions.delete_in_worker(self, runs))

    def action_move(self, where: str) -> None:
        from launchdeck.tui import actions

        run_id = self.table.cursor_run_id
        if run_id and self._cursor_queued():
            actions.move_in_worker(self, run_id, where)

    def action_rerun(self) -> None:
        from launchdeck.tui import actions

        ids = self._targets()
        if ids:
            actions.rerun_in_worker(self, [self.deck.runs[rid] for rid in ids])
