"""The keeper: one small detached process per run that owns that run from queue to history.

Why a per-run keeper rather than a daemon: nothing has to be running before a submit, a crash
takes down one run's bookkeeping and never the others, and the kernel frees a dead keeper's
concurrency slot (``core.runs.slots``). A queued run has no keeper yet: it gets one when its
target has a free slot, started by whoever freed it, a keeper at the end of its run included
(``core.runs.dispatch``). The keeper lives in its own session, so closing the
terminal or killing ``deck`` (even with SIGKILL) leaves it and its run alone.

Its life: take the run's lock (one keeper per run) -> take a slot in submit order ->
prepare (state Preparing) -> launch, or attach when an earlier keeper already launched ->
copy output and metrics into history while the run goes -> collect ``outputs/`` -> final
state -> hand the slot to the next queued run -> free the target's resources. A keeper that
finds its run already launched (because the one before it died) resumes every stream at the
offset history recorded: nothing lost, nothing repeated. ``deck cancel`` sets ``cancel_requested`` and sends SIGTERM to the keeper.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from launchdeck.core.diskerrors import is_storage_problem, storage_error
from launchdeck.core.errors import DeckError, ExecutionLost, StorageError
from launchdeck.core.history.records import RunRecord
from launchdeck.core.project import Project
from launchdeck.core.runs.patience import PatientHistory, SpaceReserve
from launchdeck.core.runs.recorder import RunRecorder
from launchdeck.core.runs.runlog import RunLog
from launchdeck.core.runs.state import RunState
from launchdeck.core.runs.streams import copy_metrics, copy_output
from launchdeck.core.runs.turn import RunTurn
from launchdeck.core.targets.capabilities import host_slot_target

CANCEL_GRACE_SECONDS = 10.0
#: How long a finished run's clean-up on its target (container, files, links) may take; a host
#: that went away must not keep a keeper alive for ever.
RELEASE_TIMEOUT_SECONDS = 120.0


class Keeper:
    def __init__(self, project: Project, run_id: str, parsed=None) -> None:
        self.parsed = parsed
        self.project = project
        self.run_id = run_id
        self.run_dir = project.run_dir(run_id)
        self.log = RunLog(self.run_dir)
        self.reserve = SpaceReserve(self.run_dir / "space_reserve")
        self.history = PatientHistory(project, self._note, self.reserve.release)
        self.cancel_event = asyncio.Event()
        self.execution = None
        self.turn: RunTurn | None = None  #: the run's slot on its target, and who goes next
        self._outputs_collected = False

    # -- the life of a run --------------------------------------------------------------------

    async def run(self) -> None:
        run = self.history.get_run(self.run_id)
        self.turn = turn = RunTurn(self.project, self.history, run, canceled=self.cancel_event,
                                   note=self._note)
        if run.status.is_terminal:  # canceled or ended before this keeper came: pass it on
            turn.hand_over()
            return
        if run.cancel_requested:  # canceled while it waited for its keeper
            self.cancel_event.set()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.cancel_event.set)
        if _terminated:  # signaled before the handler above was in place (keep)
            self.cancel_event.set()
        watcher = asyncio.create_task(self._watch_cancel())
        target = None
        try:
            self.reserve.take()
            if run.keeper_pid != os.getpid():  # whoever started this keeper may have said so
                self.history.update_run(self.run_id, keeper_pid=os.getpid())
            from launchdeck.core.runs.runspec import spec_for
            from launchdeck.core.targets.priority import lower_priority, niceness_of
            from launchdeck.core.targets.registry import open_target

            spec, configs = spec_for(self.project, run, self.parsed)
            target = open_target(self.project, configs.compute)
            lower_priority(niceness_of(configs.compute))
            # What the target tells about the run from its launch on (link state, ids).
            events = RunRecorder(self.history, self.run_id, log_line=self._progress)
            slotted = host_slot_target(target)
            shared = slotted.host_slots() if slotted is not None else None
            if run.external_id is None:
                # A target whose slots are kept on its host takes none of this machine's.
                host_lease = None
                if shared is not None:
                    host_lease = await turn.wait_for_host_slot(shared)
                elif await turn.wait_for_slot(target.max_concurrent_runs) is None \
                        and turn.behind is not None:
                    # A run now ahead of this one has no keeper (moved to the front, or its
                    # keeper died): this one gives up its claim so the dispatcher (at the end
                    # of run(), in hand_over) starts that one first.
                    self.history.update_run(self.run_id, keeper_pid=None)
                    self._note_keeper(f"stepped aside for {turn.behind}, now ahead in the "
                                      "queue")
                    return
                if host_lease is None and turn.lease is None:
                    self._finish(RunState.CANCELED, note="canceled while queued")
                    return
                launched = None
                try:
                    launched = await self._start(run, target, spec, configs, events)
                finally:
                    if host_lease is not None and launched is None:
                        await host_lease.release()  # not launched: the slot goes back
                if launched is None:
                    return
                execution = launched
                if host_lease is not None and shared is not None and slotted is not None:
                    # From here the host holds the slot for as long as the run goes; the
                    # output is followed meanwhile.
                    turn.host_holds_slot(host_lease, shared,
                                         lambda: slotted.slot_watch(spec, launched))
            else:
                execution = await target.attach(spec, run.external_id, events)
                if shared is not None and slotted is not None:
                    turn.host_adopts_slot(shared, lambda: slotted.slot_watch(spec, execution))
                else:
                    turn.retake_slot(target.max_concurrent_runs)
            self.execution = execution
            await self._follow(execution)
        except StorageError as exc:
            # A full disk or a read-only folder: the run cannot be kept, so it is stopped and
            # ends with that reason (written as soon as history can be written again).
            await self._stop_execution()
            self._fail(str(exc))
            await self._release_after_storage_failure()
        except OSError as exc:
            if not is_storage_problem(exc):
                self._fail(f"internal error in the run keeper: {exc.__class__.__name__}: {exc}")
                raise
            await self._stop_execution()
            self._fail(str(storage_error(exc, self.run_dir)))
            await self._release_after_storage_failure()
        except DeckError as exc:
            self._fail(str(exc))
        except Exception as exc:  # a bug must still end the run visibly, never leave it Running
            self._fail(f"internal error in the run keeper: {exc.__class__.__name__}: {exc}")
            raise
        finally:
            watcher.cancel()
            self.reserve.release()
            turn.hand_over()  # before the target's clean-up, which may wait for a lost host
            await turn.host_work_done()
            if target is not None:
                with contextlib.suppress(Exception):  # asyncio.TimeoutError included
                    await asyncio.wait_for(target.close(), RELEASE_TIMEOUT_SECONDS)

    async def _start(self, run: RunRecord, target, spec, configs, events: RunRecorder):
        def progress(line: str) -> None:
            self.log.append((line.rstrip("\n") + "\n").encode())

        if self.cancel_event.is_set():
            self._finish(RunState.CANCELED, note="canceled before it started")
            return None
        self.log.restart()
        # PrepareEnvironment: false means "use the environment prepared beforehand": a target
        # that needs one and finds none says to run `deck prepare` when it launches.
        if configs.runconfig.prepare_environment:
            if self.history.get_run(self.run_id).status is not RunState.PREPARING:
                self.history.transition(self.run_id, RunState.PREPARING)
            environment_id = await target.prepare(spec.env, progress=progress)
            if environment_id:
                self.history.update_run(self.run_id, environment_id=environment_id)
            if configs.compute.store_budget is not None:
                from launchdeck.core.housekeeping.budget import keep_budget

                await keep_budget(self.project, target, configs.compute, keep=environment_id,
                                  progress=progress)
            if self.cancel_event.is_set():
                self._finish(RunState.CANCELED, note="canceled while preparing")
                return None
        # Output the target produces is appended after what prepare wrote; remember where it
        # starts so a later keeper resumes the target's stream at the right offset (progress
        # the launch reports moves that start past it: see _progress).
        self.log.mark_target_base()
        execution = await target.launch(spec, events)
        self.history.transition(self.run_id, RunState.RUNNING,
                                external_id=execution.external_id)
        return execution

    async def _stop_execution(self) -> None:
        if self.execution is not None:
            with contextlib.suppress(Exception):
                await self.execution.cancel(grace_seconds=CANCEL_GRACE_SECONDS)

    async def _release_after_storage_failure(self) -> None:
        """Free the run's files on the target (often what filled the disk), unless they hold
        outputs that were not collected: those are the user's and stay."""
        if self.execution is None:
            return
        if not self._outputs_collected:
            self._note("the run's files on the target were kept: its outputs were not "
                       "collected")
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.execution.release(), RELEASE_TIMEOUT_SECONDS)

    async def _follow(self, execution) -> None:
        pumps = asyncio.ensure_future(
            asyncio.gather(copy_output(execution, self.log, self.history, self.run_id),
                           copy_metrics(execution, self.history, self.run_id)))
        waiter = asyncio.ensure_future(execution.wait())
        canceller = asyncio.ensure_future(self.cancel_event.wait())
        watched = {waiter, canceller, pumps}
        while waiter in watched and canceller in watched:
            done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            watched -= done
            # Output that cannot be kept (a full disk) stops the run rather than losing it;
            # other stream errors are reported once the run ends, as they always were.
            problem = pumps.exception() if pumps in done else None
            if problem is not None and is_storage_problem(problem):
                await execution.cancel(grace_seconds=CANCEL_GRACE_SECONDS)
                with contextlib.suppress(Exception):
                    await waiter
                canceller.cancel()
                raise problem
        canceled = False
        if waiter in watched:
            canceled = True
            await execution.cancel(grace_seconds=CANCEL_GRACE_SECONDS)
        canceller.cancel()
        exit_code: int | None = None
        lost: str | None = None
        try:
            exit_code = await waiter
        except ExecutionLost as exc:
            lost = str(exc)
        await pumps
        artifacts = await self._collect(execution)
        if canceled:
            self._finish(RunState.CANCELED, exit_code=exit_code, note="canceled by user",
                         artifacts=artifacts)
        elif lost is not None:
            self._finish(RunState.FAILED, error=lost, artifacts=artifacts)
        elif exit_code == 0:
            self._finish(RunState.COMPLETED, exit_code=0, artifacts=artifacts)
        else:
            self._finish(RunState.FAILED, exit_code=exit_code,
                         error=self.log.failure_summary(exit_code),
                         artifacts=artifacts)
        # The run is over: its slot goes to the next one now, not after the clean-up, which
        # may wait for a host that went away.
        if self.turn is not None:
            self.turn.hand_over()
        try:
            await asyncio.wait_for(execution.release(), RELEASE_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            self.log.append(b"deck: the run's files on the target were not cleaned up: no "
                            b"answer within %g s\n" % RELEASE_TIMEOUT_SECONDS)
        except DeckError as exc:
            self.log.append(f"deck: the run's files on the target were not cleaned up: "
                            f"{exc}\n".encode())

    async def _collect(self, execution) -> list[tuple[str, int]]:
        from launchdeck.core.targets.outputs import list_artifacts

        from launchdeck.core.runs import skipped

        outputs = self.run_dir / "outputs"
        try:
            left_out = await execution.collect_outputs(outputs)
            self._outputs_collected = True
        except DeckError as exc:
            self.log.append(f"deck: could not collect outputs: {exc}\n".encode())
            left_out = None
        # Said once, even when a revived keeper collects again.
        if left_out and skipped.read(self.run_dir).get("outputs") != list(left_out):
            self.log.append(skipped.record(self.run_dir, "outputs", left_out).encode())
        return list_artifacts(outputs)

    # -- queue and cancel ---------------------------------------------------------------------

    async def _watch_cancel(self) -> None:
        # SIGTERM is the fast path; this catches a request made while the signal was lost.
        while not self.cancel_event.is_set():
            await asyncio.sleep(0.5)
            if self.history.get_run(self.run_id).cancel_requested:
                self.cancel_event.set()

    # -- history ------------------------------------------------------------------------------

    def _finish(self, state: RunState, *, exit_code: int | None = None, error: str | None = None,
                note: str | None = None, artifacts: list[tuple[str, int]] | None = None) -> None:
        # The run's true end must reach history: a full disk is waited out here too. Its
        # artifacts are written with it (one write), or alone if it ended already.
        with self.history.patient_with_full_disk():
            current = self.history.get_run(self.run_id).status
            if current.is_terminal:
                if artifacts is not None:
                    self.history.set_artifacts(self.run_id, artifacts)
                return
            self.history.transition(self.run_id, state, exit_code=exit_code, error=error,
                                    note=note, artifacts=artifacts)

    def _fail(self, message: str) -> None:
        noted = self._note(message)
        self._finish(RunState.FAILED, error=message)
        if not noted:  # a full disk: the keeper's reserve may have made room for it since
            self._note(message)

    def _note(self, message: str) -> bool:
        """A ``deck:`` line in the run's log, written at any moment of the run.

        The line is not the target's output: ``log_base`` grows by its length, so a keeper
        that takes over resumes the target's stream at the right byte. A log that cannot be
        written (a full disk) gets the line in the keeper's own log instead.
        """
        data = f"deck: {message}\n".encode()
        try:
            if not self.log.ends_a_line():  # output cut mid-line (a full disk)
                data = b"\n" + data
            self.log.append_own(data)
            return True
        except OSError as exc:
            with contextlib.suppress(OSError):  # keeper.log may be on the full disk too
                print(f"deck keeper: {message} (not in the run's log: "
                      f"{storage_error(exc, self.log.path)})", file=sys.stderr, flush=True)
            return False

    def _note_keeper(self, message: str) -> None:
        """A line in the keeper's own log (``keeper.log``), not the run's."""
        with contextlib.suppress(OSError):
            print(f"deck keeper: {message}", file=sys.stderr, flush=True)

    def _progress(self, line: str) -> None:
        """A progress line the target reports from its launch on, in the run's log."""
        self.log.append_own((line.rstrip("\n") + "\n").encode())


def run_lock(run_dir: Path) -> int | None:
    """Take the run's keeper lock; None when another keeper already owns the run."""
    from launchdeck.core.runs.liveness import owner_lock

    run_dir.mkdir(parents=True, exist_ok=True)
    return owner_lock(run_dir / "keeper.lock")


#: SIGTERM came before the keeper's loop handles it (see keep).
_terminated = False


def _remember_termination(signum, frame) -> None:
    global _terminated
    _terminated = True


def keep(project_root: str, run_id: str, *, parsed=None) -> int:
    """Entry point of a keeper process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # `deck cancel` signals whoever holds the run's lock, maybe before the loop's handler is in
    # place: dying of it then would leave the run Queued with nobody to end it (its cancel
    # waited in vain). The request is in history too; run() acts on either.
    signal.signal(signal.SIGTERM, _remember_termination)
    project = Project(Path(project_root))
    run_dir = project.run_dir(run_id)
    lock = run_lock(run_dir)
    if lock is None:
        return 0
    try:
        asyncio.run(Keeper(project, run_id, parsed).run())
    except DeckError as exc:
        with contextlib.suppress(OSError):  # keeper.log may be on a full disk
            print(f"deck keeper: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(keep(sys.argv[1], sys.argv[2]))
