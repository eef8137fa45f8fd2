"""The cause of a failed Spark run, as Spark printed it, for the run's summary.

spark-submit fails in ways that leave no Python traceback: Ivy cannot resolve a package of
``spark_dependencies.yml`` (``unresolved dependency: g#a;v: not found``), the JVM itself throws
(``Exception in thread "main" java.lang.X: ...``) or cannot start (``Error: Could not create
the Java Virtual Machine.`` after the reason). ``spark_cause`` finds that line in the last
lines of the run's log; a Python traceback, when there is one, is found by the keeper first.
"""

from __future__ import annotations

import re

_UNRESOLVED = re.compile(r"unresolved dependency: (\S+?;\S+?): not found")
_JAVA_EXCEPTION = re.compile(r'^Exception in thread "[^"]*" (\S+?)(?::\s*(.*))?$')
_JVM_FAILED = "Error: Could not create the Java Virtual Machine."


def spark_cause(lines: list[str]) -> str | None:
    """What Spark said went wrong in these log lines (the last such statement), or None."""
    for line in reversed(lines):
        missing = _UNRESOLVED.findall(line)
        if missing:
            # Ivy lists every coordinate in one exception line; its summary box repeats them.
            unique = list(dict.fromkeys(missing))
            return ("unresolved dependency: " + ", ".join(f"{m}: not found" for m in unique)
                    + " (check packages and repositories in spark_dependencies.yml)")
    for line in reversed(lines):
        found = _JAVA_EXCEPTION.match(line.strip())
        if found:
            kind, message = found.groups()
            return f"{kind}: {message}" if message else kind
    stripped = [line.strip() for line in lines]
    if _JVM_FAILED in stripped:
        at = stripped.index(_JVM_FAILED)
        reason = next((text for text in reversed(stripped[:at]) if text), "")
        return f"Java did not start: {reason}" if reason else "Java did not start"
    return None
