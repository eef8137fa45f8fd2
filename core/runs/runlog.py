"""``RunLog``: a run's ``output.log`` as its keeper writes it, and what its end says.

The log holds more than the target's output: what prepare printed, and ``deck:`` lines the
keeper adds at any moment. Two marks beside it let a keeper that takes over from a dead one
lose nothing and repeat nothing: ``prepare_base`` (the size before prepare first wrote: a
second prepare writes its lines again) and ``log_base`` (where the target's own stream starts
in the file, grown by every line the keeper adds after it).
"""

from __future__ import annotations

import os
from pathlib import Path


class RunLog:
    """The ``output.log`` of the run in ``run_dir``, with its two marks."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.path = run_dir / "output.log"

    def append(self, data: bytes) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as log:
            log.write(data)

    def restart(self) -> None:
        """Before prepare: a keeper that died before its run launched wrote lines (prepare's)
        that this one writes again, so they are dropped; nothing of the run was read yet."""
        # A started run always has a log (readers take a missing one for a lost one), even
        # when its keeper dies before prepare or the run wrote a byte.
        open(self.path, "ab").close()
        mark = self.run_dir / "prepare_base"
        try:
            size = int(mark.read_text())
        except (FileNotFoundError, ValueError):
            mark.write_text(str(file_size(self.path)))
            return
        if file_size(self.path) > size:
            with open(self.path, "ab") as log:
                log.truncate(size)

    def append_own(self, data: bytes) -> None:
        """Append ``data``, which is not the target's output, to the run's log; ``log_base``
        grows by its length so the target's stream still resumes at the right byte."""
        base = self.target_base() if (self.run_dir / "log_base").exists() else None
        self.append(data)
        if base is not None:
            (self.run_dir / "log_base").write_text(str(base + len(data)))

    def mark_target_base(self) -> None:
        """The target's output starts here: what the log holds now came before it."""
        (self.run_dir / "log_base").write_text(str(file_size(self.path)))

    def target_base(self) -> int:
        """Where the target's output starts in the log (0 before the mark is written)."""
        try:
            return int((self.run_dir / "log_base").read_text())
        except (FileNotFoundError, ValueError):
            return 0

    def ends_a_line(self) -> bool:
        try:
            with open(self.path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                return f.read(1) == b"\n"
        except OSError:  # missing or empty
            return True

    def failure_summary(self, exit_code: int | None) -> str:
        """The last lines of a Python traceback, or the exit code, for the run's summary."""
        try:
            with open(self.path, "rb") as f:
                f.seek(max(0, file_size(self.path) - 8192))
                tail = f.read().decode("utf-8", errors="replace").splitlines()
        except OSError:
            tail = []
        if "Traceback (most recent call last):" in tail:
            start = len(tail) - 1 - tail[::-1].index("Traceback (most recent call last):")
            # The exception is the first unindented line after the frames: a runtime such as
            # Spark may log more lines after it while shutting down.
            after = [line for line in tail[start + 1:] if line.strip()]
            exception = next((line for line in after if not line[:1].isspace()), None)
            return f"exit code {exit_code}: {exception.strip()}" if exception \
                else f"exit code {exit_code}"
        from launchdeck.core.targets.spark.failure import spark_cause

        cause = spark_cause(tail)  # spark-submit's own failures leave no Python traceback
        return f"exit code {exit_code}: {cause}" if cause else f"exit code {exit_code}"


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
