"""Names from runs and projects made safe to show on a terminal.

A script, metric, config or error text can hold any character, and ESC or OSC sequences
written to a terminal retitle it, move the cursor or worse. Every human-readable face (the
CLI's tables and lines, the dashboard's cells and headers) shows such text through
``printable``; JSON output stays exact (JSON escapes control characters itself).
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
# C0 controls, DEL, C1 controls, bidirectional overrides/isolates (they reorder what is
# shown), and lone surrogates (undecodable file-name bytes, which a terminal cannot encode).
_CONTROLS = "\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE = re.compile(f"[{_CONTROLS}]")
_UNSAFE_OR_BACKSLASH = re.compile(f"[{_CONTROLS}\\\\]")
# Colour and style (SGR) sequences: the only escapes a program's output may keep on screen.
_SGR = re.compile(r"(\x1b\[[0-9;:]*m)")


def printable(value: object, *, keep: str = "") -> str:
    """``value`` as text with control characters shown as escapes (``\\x1b``, ``\\n``).

    ``keep`` names characters to leave as they are (``"\\n"`` for a multi-line message). A
    backslash is doubled only when something was escaped, so ordinary paths read as they are
    while an escaped name stays unambiguous.
    """
    text = value if isinstance(value, str) else str(value)
    if not _has_unsafe(text, keep):
        return text
    return _UNSAFE_OR_BACKSLASH.sub(lambda m: _escape(m.group(), keep), text)


def printable_output(line: str) -> str:
    """A line of a run's own output for a screen: colours (SGR) and tabs stay, every other
    control sequence is shown escaped (a script may not clear or retitle the dashboard)."""
    if not _has_unsafe(line, "\t"):
        return line
    parts = _SGR.split(line)
    return "".join(part if i % 2 else _UNSAFE.sub(lambda m: _escape(m.group(), "\t"), part)
                   for i, part in enumerate(parts))


def _has_unsafe(text: str, keep: str) -> bool:
    match = _UNSAFE.search(text)
    while match is not None and match.group() in keep:
        match = _UNSAFE.search(text, match.end())
    return match is not None


def _escape(char: str, keep: str) -> str:
    if char in keep:
        return char
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
