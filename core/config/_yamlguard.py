"""What a config file must be before and right after it is parsed, so no file can hurt deck.

- It is read only when its real path stays inside its project: a config that is a symlink to
  ``/etc/passwd`` is refused, naming the link, and its content is never read into a message.
- It is at most ``MAX_BYTES``: a bigger file is refused before a byte of it is parsed.
- Tabs used as separators (``key:<TAB>value``, ``-<TAB>item``), which Workbench read but YAML
  scanners reject, are read as spaces with a warning. Only the text handed to the parser
  changes, one character for one, so marks still index the file's own text and edits keep
  the tabs of every other line.
- Aliases may not expand past ``MAX_EXPANDED`` values (a nine-level alias bomb expands to
  hundreds of millions): anything that walks the data would otherwise run for minutes.
"""

from __future__ import annotations

import bisect
import os
import re
import stat
from pathlib import Path
from typing import Any

from launchdeck.core.config._displaypath import display_path
from launchdeck.core.errors import ConfigError

MAX_BYTES = 1024 * 1024
MAX_EXPANDED = 200_000
CONFIG_DIR = "aml_config"

#: A line's leading part that may hold separator tabs: indentation, "- " entries, then a key and
#: its colon (a plain key up to the first ": ", or a quoted one).
_LEAD = re.compile(r"""(?P<indent>[ ]*)(?P<dashes>(?:-[ \t]+)*)""")
_KEY = re.compile(r"""(?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{\[\]},&*!|>%@`-][^\t\n]*?"""
                  r"""|-[^\s\t\n][^\t\n]*?):(?=[ \t])""")


_VALUE_THEN_COMMENT = re.compile(r"""(?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s'"#][^\t#]*?)"""
                                 r"""(?P<gap>[ ]*\t[ \t]*)#""")


def project_root_of(path: Path) -> Path | None:
    """The folder holding ``aml_config/`` above ``path`` (the project), or None."""
    for folder in Path(os.path.abspath(path)).parents:
        if (folder / CONFIG_DIR).is_dir():
            return folder
    return None


def read_config_bytes(path: Path, shown: str) -> bytes:
    """The bytes of a config file: refused when it leads out of its project or is too big."""
    absolute = os.path.abspath(path)
    real = os.path.realpath(absolute)
    if real != absolute:
        root = project_root_of(path)
        if root is not None and not _inside(real, os.path.realpath(root)):
            link = _first_link(absolute) or absolute
            raise ConfigError(f"refusing to read it: {display_path(link)} is a symlink to "
                              f"{os.readlink(link)}, which leads outside the project (put a "
                              "copy of the file in the project instead)", file=shown)
    mode = os.stat(path).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # a FIFO would block the read for ever
        raise ConfigError("not a regular file; a config must be a file", file=shown)
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > MAX_BYTES:
            raise ConfigError(too_big(size), file=shown)
        raw = handle.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:  # grew while being read, or a file whose size lies (/proc)
        raise ConfigError(too_big(len(raw)), file=shown)
    return raw


def too_big(size: int) -> str:
    return (f"is {size / (1024 * 1024):.1f} MB; config files over {MAX_BYTES // (1024 * 1024)} MB "
            "are refused (a config file is a few lines: is this the right file?)")


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _first_link(path: str) -> str | None:
    """The deepest component of ``path`` that is a symlink (the file itself first)."""
    current = path
    while current and current != os.path.dirname(current):
        if os.path.islink(current):
            return current
        current = os.path.dirname(current)
    return None


# -- tabs ----------------------------------------------------------------------------------------

def untab(text: str) -> tuple[str, list[int]]:
    """``text`` with separator tabs read as spaces, and the indexes of the tabs replaced."""
    if "\t" not in text:
        return text, []
    chars: list[str] | None = None
    replaced: list[int] = []
    offset = 0
    for line in text.split("\n"):
        if "\t" in line:
            for index in _separator_tabs(line):
                if chars is None:
                    chars = list(text)
                chars[offset + index] = " "
                replaced.append(offset + index)
        offset += len(line) + 1
    return ("".join(chars) if chars is not None else text), replaced


def _separator_tabs(line: str) -> list[int]:
    lead = _LEAD.match(line)
    assert lead is not None  # every part of it is optional: it matches any line
    at = lead.end()
    tabs = [lead.start("dashes") + i for i, c in enumerate(lead.group("dashes")) if c == "\t"]
    key = _KEY.match(line, at)
    if key is not None:
        at = key.end()
        while at < len(line) and line[at] in " \t":
            if line[at] == "\t":
                tabs.append(at)
            at += 1
    # "value<TAB># comment": the tabs before a comment that ends the line separate too.
    comment = _VALUE_THEN_COMMENT.match(line, at)
    if comment is not None:
        tabs += [comment.start("gap") + i for i, c in enumerate(comment.group("gap"))
                 if c == "\t"]
    return tabs


def tabs_in_scalars(root: Any, replaced: list[int]) -> set[int]:
    """The replaced indexes that fall inside a scalar (block text, a multi-line quoted value)."""
    spans: list[tuple[int, int]] = []
    stack = [root] if root is not None else []
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        kind = type(node).__name__
        if kind == "MappingNode":
            for key, value in node.value:
                stack += (key, value)
        elif kind == "SequenceNode":
            stack += node.value
        elif node.start_mark.index < node.end_mark.index:
            spans.append((node.start_mark.index, node.end_mark.index))
    spans.sort()
    starts = [s for s, _ in spans]
    inside = set()
    for index in replaced:
        at = bisect.bisect_right(starts, index) - 1
        if at >= 0 and spans[at][0] <= index < spans[at][1]:
            inside.add(index)
    return inside


# -- aliases -------------------------------------------------------------------------------------

class AliasBomb(Exception):
    """The data expands past MAX_EXPANDED values, or an alias refers to its own container."""


def check_expansion(data: Any) -> None:
    """Raise AliasBomb when walking ``data`` (aliases expanded) would visit too many values."""
    sizes: dict[int, int | None] = {}

    def size(value: Any) -> int:
        if not isinstance(value, (dict, list)):
            return 1
        key = id(value)
        if key in sizes:
            known = sizes[key]
            if known is None:
                raise AliasBomb("an alias refers to a map or list that holds it")
            return known
        sizes[key] = None
        items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
        total = 1
        for k, v in items:
            total += size(v) + (1 if k is not None else 0)
            if total > MAX_EXPANDED:
                raise AliasBomb(f"its aliases (*name) expand to more than {MAX_EXPANDED:,} values")
        sizes[key] = total
        return total

    size(data)


def line_numbers(text: str, indexes: list[int]) -> list[int]:
    """The distinct 1-based line numbers of character ``indexes`` of ``text``, in order."""
    lines: list[int] = []
    line, at = 1, 0
    for index in sorted(indexes):
        line += text.count("\n", at, index)
        at = index
        if not lines or lines[-1] != line:
            lines.append(line)
    return lines
