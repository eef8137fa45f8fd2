"""A process's start time on a host, from ``/proc``: with its pid, what names one process.

Shared by ``runner.py`` and ``hostslot.py``: they import it when run from this folder, and are
sent to a host with this file inlined in place of that import (``farside.script``), so: stdlib
only, no imports from Launchdeck. It repeats ``core/procstat.py``'s reader for that reason.
"""


def start_time(pid):
    """Field 22 of ``/proc/PID/stat`` (clock ticks after boot); "" for a zombie or no process."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read()
    except (OSError, ValueError):
        return ""
    fields = stat[stat.rindex(b")") + 2:].split()
    return "" if fields[0] == b"Z" else fields[19].decode()
