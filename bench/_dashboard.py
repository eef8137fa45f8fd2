"""The dashboard in a real pseudo-terminal, and a history to fill it (for bench_tui)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench._common import deck_command, source_env

ANSI = re.compile(rb"\x1b\[[0-9;?<>=$]*[a-zA-Z~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\x1b\][^\x07]*\x07")
START = datetime(2026, 10, 1, tzinfo=timezone.utc)


class Pty:
    """``deck`` in a pseudo-terminal; ``until`` waits for text on the screen stream."""

    def __init__(self, project: Path, size=(120, 40)) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        env = source_env() | {"TERM": "xterm-256color", "COLUMNS": str(size[0]),
                              "LINES": str(size[1]),
                              # Its own remembered sort order: a bench stopped midway must not
                              # leave the next one (or the user's dashboard) sorted otherwise.
                              "XDG_STATE_HOME": str(project.parent / "state")}
        env.pop("SSH_CONNECTION", None)
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(deck_command(), cwd=project, env=env, stdin=slave,
                                     stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        self.text = ""   # everything shown, escapes removed
        self.mark = 0    # ``until`` looks after this position

    def read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            try:
                data = os.read(self.master, 1 << 20)
            except OSError:
                return
            self.text += ANSI.sub(b"", data).decode("utf-8", "replace")

    def until(self, pattern: str, timeout: float = 30.0) -> float:
        """Seconds until ``pattern`` (a regex) shows after the last mark; moves the mark."""
        start = time.perf_counter()
        regex = re.compile(pattern)
        while True:
            found = regex.search(self.text, self.mark)
            if found:
                self.mark = found.end()
                return time.perf_counter() - start
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"{pattern!r} not shown in {timeout} s")
            self.read(0.005)

    def press(self, keys: str) -> None:
        self.mark = len(self.text)
        os.write(self.master, keys.encode())

    def drain(self, seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            self.read(0.05)
        self.mark = len(self.text)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_mib(self, field: str = "VmRSS") -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    def close(self) -> None:
        if self.proc.returncode is not None:
            return  # closed already
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        os.close(self.master)


def fill_history(project: Path, count: int, *, log_lines: int = 0) -> list[str]:
    from launchdeck.core.history.store import HistoryStore
    from launchdeck.core.runs.state import RunState

    store = HistoryStore(project / ".deck" / "history.db")
    conn = store._conn  # one transaction: filling is not what is measured
    conn.execute("BEGIN")
    ids = []
    for i in range(count):
        rid = f"{project.name}_{1700000000000 + i}"
        ids.append(rid)
        made = (START + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        conn.execute("INSERT INTO runs (run_id, status, target, run_configuration, script, "
                     "arguments, framework, snapshot, config, created_utc, start_time_utc, "
                     "end_time_utc, exit_code) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0)",
                     (rid, str(RunState.COMPLETED), "local", "local", "train.py",
                      '["--epochs", "5"]', "Python", "ab" * 32, '{"Target": "local"}', made,
                      made, made))
        conn.executemany("INSERT INTO metrics VALUES (?,?,?,?,?)",
                         [(rid, s, "loss", str(1 / (s + 1)), None) for s in range(20)])
        conn.execute("UPDATE runs SET metrics_offset=800 WHERE run_id=?", (rid,))
    conn.execute("COMMIT")
    if log_lines:
        run_dir = project / ".deck" / "runs" / ids[-1]
        run_dir.mkdir(parents=True, exist_ok=True)
        with open(run_dir / "output.log", "w") as f:
            f.writelines(f"line {i} of a long log\n" for i in range(log_lines))
    store.close()
    return ids
