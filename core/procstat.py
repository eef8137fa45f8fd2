"""``/proc/PID/stat`` read the one way deck reads it: the fields after the command name.

The command name (field 2) may hold spaces and parentheses, so the fields are counted from
after its last ``)``: index 0 is the state (``Z`` for a zombie), 1 the parent pid, 2 the
process group, 11 and 12 user and system CPU ticks, 19 the start time in clock ticks since
boot, 21 the resident pages. The far-side code (``core/farside/procs.py``, inlined into the
runner and the slot holder) keeps its own copy of ``start_time``: it is sent to a host alone
and may import nothing of deck.
"""

from __future__ import annotations

from pathlib import Path

PROC = Path("/proc")


def stat_fields(pid: int, *, proc: Path = PROC) -> list[bytes] | None:
    """The fields of ``/proc/PID/stat`` from the state on; None when the process is gone."""
    try:
        stat = (proc / str(pid) / "stat").read_bytes()
    except OSError:
        return None  # gone meanwhile, or not ours to read
    try:
        return stat[stat.rindex(b")") + 2:].split()
    except ValueError:
        return None


def start_time(pid: int) -> str:
    """The process's start time in clock ticks ("" when gone or a zombie): tells a live pid
    from a later process that reused the number."""
    fields = stat_fields(pid)
    if not fields or fields[0] == b"Z":
        return ""
    return fields[19].decode()


def is_zombie_or_gone(pid: int) -> bool:
    fields = stat_fields(pid)
    return not fields or fields[0] == b"Z"
