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
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_OR_BACKSLASH = re.compile(_UNSAFE.pattern[:-1] + "\\\\]")


def printable(value: object, *, keep_newlines: bool = False) -> str:
    """``value`` as text with control characters shown as escapes (``\\x1b``, ``\\n``).

    A backslash is doubled only when something was escaped, so ordinary Windows-style paths
    read as they are while an escaped name stays unambiguous.
    """
    text = value if isinstance(value, str) else str(value)
    if not _UNSAFE.search(text.replace("\n", "") if keep_newlines else text):
        return text
    pattern = _UNSAFE_OR_BACKSLASH
    return pattern.sub(lambda m: _escape(m.group(), keep_newlines), text)


def _escape(char: str, keep_newlines: bool) -> str:
    if keep_newlines and char == "\n":
        return char
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
