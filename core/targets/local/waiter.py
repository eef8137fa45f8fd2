"""The waiter of a local run: a fork of the keeper that starts the script and outlives it.

The exit code of a process is known only to its parent, so the waiter (forked, no new
interpreter) starts the script, waits for it and writes its exit code into the run's files;
a later keeper reads it there. The waiter is a child subreaper: what the script daemonized
becomes its child, and is stopped (SIGTERM, then SIGKILL after ``LEFTOVER_GRACE_SECONDS``)
once the script has ended. It holds the run's launch lock for its whole life.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from launchdeck.core.errors import TargetError
from launchdeck.core.procstat import start_time, stat_fields
from launchdeck.core.targets.priority import lower_priority


class RunFiles:
    """Where a local run keeps its files (under ``<run_dir>/target``)."""

    def __init__(self, run_dir: Path) -> None:
        self.root = run_dir / "target"
        self.work = self.root / "work"
        self.output = self.root / "output.log"
        self.metrics = self.root / "metrics.jsonl"
        self.exit_code = self.root / "exit_code"
        self.launch_lock = self.root / "launch.lock"
        self.external_id = self.root / "external_id"


#: Processes the script left behind get SIGTERM when it ends, then SIGKILL after this long.
LEFTOVER_GRACE_SECONDS = 5.0


def spawn_with_waiter(argv: list[str], files: RunFiles, env: dict[str, str],
                      niceness: int, lock_fd: int) -> str:
    """Fork the waiter, which starts the script; return the execution's external id."""
    import subprocess  # noqa: F401 - imported here, not in the child forked from a thread

    subreaper = _subreaper_call()
    read_end, write_end = os.pipe()
    log_fd = os.open(files.output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    waiter = os.fork()
    if waiter == 0:
        _waiter_main(argv, files, env, niceness, (log_fd, write_end, lock_fd),
                     subreaper)  # never returns
    os.close(write_end)
    os.close(log_fd)
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read().decode()
    if not report.startswith("id:"):
        reap(waiter, block=True)
        raise TargetError(report.removeprefix("error:").strip()
                          or "the run's process did not start")
    return report[3:]


def _subreaper_call():
    """``prctl(PR_SET_CHILD_SUBREAPER, 1)`` as a callable, resolved before forking."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None  # not Linux: orphans go to init as before
    return lambda: prctl(36, 1, 0, 0, 0)  # 36 = PR_SET_CHILD_SUBREAPER


def _waiter_main(argv, files: RunFiles, env, niceness: int, fds: tuple[int, int, int],
                 subreaper) -> None:
    log_fd, report_fd, _lock_fd = fds
    code = 0
    try:
        os.setsid()  # its own session: signals aimed at deck or the keeper never reach it
        if subreaper is not None:
            subreaper()  # what the script daemonizes becomes ours, to stop when it ends
        lower_priority(niceness)  # the script shares this session (and its scheduling group)
        # A do-nothing handler rather than SIG_IGN: exec resets handlers to the default but
        # keeps ignored signals ignored, and the script must feel cancel's SIGTERM.
        for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
            signal.signal(sig, _shrug)
        # Drop every inherited descriptor (the keeper's locks, history, event loop) but ours;
        # the launch lock stays held by this process until it exits.
        low = 3
        for fd in sorted(fds):
            os.closerange(low, fd)
            low = fd + 1
        os.closerange(low, 65536)
        import subprocess

        try:
            proc = subprocess.Popen(argv, cwd=files.work, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log_fd, stderr=log_fd, process_group=0,
                                    restore_signals=True)
        except OSError as exc:
            _report(report_fd, f"error: cannot start {argv[0]}: {exc}")
            code = 1
            return
        me = os.getpid()
        external_id = f"{proc.pid}:{start_time(proc.pid)}/{me}:{start_time(me)}"
        _write_atomic(files.external_id, external_id)
        _report(report_fd, f"id:{external_id}")
        returncode = _wait_reaping(proc.pid)
        # A negative code means a signal; report it the way a shell does.
        _write_atomic(files.exit_code, str(128 - returncode if returncode < 0 else returncode))
        _end_leftovers(LEFTOVER_GRACE_SECONDS)
    except BaseException:  # the waiter must never fall back into the keeper's code
        code = 1
    finally:
        os._exit(code)


def _report(report_fd: int, text: str) -> None:
    """Tell the keeper that forked us how the start went, if it still listens.

    A keeper killed since the fork left the pipe without a reader: the write fails (EPIPE)
    and the waiter must go on waiting for the script all the same, or the exit code is lost.
    A later keeper finds the id in the run's files.
    """
    try:
        os.write(report_fd, text.encode())
    except BrokenPipeError:
        pass
    finally:
        os.close(report_fd)


def _wait_reaping(pid: int) -> int:
    """Wait for ``pid``, reaping orphans handed to us meanwhile; its exit code (-N: signal N)."""
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return -signal.SIGKILL  # cannot happen: the script is our child
        if done == pid:
            return os.waitstatus_to_exitcode(status)


def _end_leftovers(grace: float) -> None:
    """Stop every process still under this subreaper: SIGTERM, then SIGKILL after ``grace``."""
    me = os.getpid()
    deadline = time.monotonic() + grace
    told: set[int] = set()
    while True:
        while True:  # reap what already ended
            try:
                done, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if done == 0:
                break
        left = _children_of(me)
        if not left:
            return
        late = time.monotonic() >= deadline
        for pid in left:
            if late or pid not in told:
                try:
                    os.kill(pid, signal.SIGKILL if late else signal.SIGTERM)
                except ProcessLookupError:
                    pass
                told.add(pid)
        time.sleep(0.02)


def _children_of(parent: int) -> list[int]:
    """Live (not zombie) children of ``parent`` (a process of one thread: the waiter)."""
    try:
        # The kernel's own list: one read, where a scan of /proc reads every process's stat
        # (milliseconds on a busy machine, on the way from the script's end to the run's).
        with open(f"/proc/{parent}/task/{parent}/children", "rb") as listing:
            candidates = [int(pid) for pid in listing.read().split()]
    except OSError:  # a kernel built without CONFIG_PROC_CHILDREN
        candidates = [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]
    found = []
    for pid in candidates:
        fields = stat_fields(pid)
        if fields and fields[0] != b"Z" and int(fields[1]) == parent:
            found.append(pid)
    return found


def _shrug(signum, frame) -> None:
    """The waiter's handler for signals that must not stop it."""


def reap(pid: int, *, block: bool = False) -> None:
    try:
        os.waitpid(pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        pass  # not our child (a keeper that attached later): nothing to reap


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
