"""YAML text surgery behind ``YamlDocument.set`` / ``delete``: change one entry in place.

ruamel.yaml re-dumps a whole document, which rewrites lines nobody touched (``null`` becomes
empty, ``False`` becomes ``false``, spacing after colons shrinks, trailing comments move to a new
key). So edits splice text instead: the document is composed into nodes with character marks,
the one span that changes is rewritten, and every other character stays as it was. The caller
re-parses the result and checks it means exactly what was intended.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

_STR = "tag:yaml.org,2002:str"
_QUOTES = ('"', "'")
# First characters that would make a plain scalar mean something else (indicators).
_BAD_FIRST = set("?:,[]{}#&*!|>'\"%@`- \t")
_BAD_ANYWHERE = set(",[]{}")  # legal in block plain scalars, but not inside a flow map we edit


class EditError(Exception):
    """An edit the text surgery cannot make (the caller turns it into a ConfigError)."""


@dataclass(frozen=True)
class Layout:
    """How a file indents; new lines copy it."""

    mapping: int = 2  #: columns a nested mapping sits right of its key
    offset: int = 0   #: columns the "- " of a block sequence sits right of its key
    newline: str = "\n"


@dataclass(frozen=True)
class Style:
    """Quote characters for new keys and new text values (None: plain where that is safe)."""

    key: str | None = None
    value: str | None = None


def detect_layout(text: str, root: Any) -> Layout:
    mapping = offset = None
    stack = [root] if root is not None else []
    while stack and (mapping is None or offset is None):
        node = stack.pop(0)
        if _kind(node) == "map" and not node.flow_style:
            for key, value in node.value:
                kind = _kind(value)
                if kind == "map" and not value.flow_style and mapping is None:
                    mapping = value.value[0][0].start_mark.column - key.start_mark.column
                if kind == "seq" and not value.flow_style and offset is None:
                    offset = value.start_mark.column - key.start_mark.column
                stack.append(value)
        elif _kind(node) == "seq":
            stack.extend(node.value)
    newline = "\r\n" if text.count("\r\n") * 2 > text.count("\n") else "\n"
    return Layout(mapping if mapping and mapping > 0 else 2,
                  offset if offset is not None and offset >= 0 else 0, newline)


def style_of(node: Any, inherit: Style = Style()) -> Style:
    """The quoting a mapping uses, so a new entry looks like its siblings."""
    if _kind(node) != "map" or not node.value:
        return inherit
    key_style = node.value[0][0].style if node.value[0][0].style in _QUOTES else None
    counts = {'"': 0, "'": 0, None: 0}
    for _key, value in node.value:
        if _kind(value) == "scalar" and value.tag == _STR and value.value:
            quoted = value.style in _QUOTES
            if quoted and not _plain_is_safe(value.value):
                continue  # quoted because it had to be ("007"), not by the file's choice
            counts[value.style if quoted else None] += 1
    value_style = max(_QUOTES, key=counts.__getitem__)
    return Style(key_style, value_style if counts[value_style] > counts[None] else None)


# -- rendering ---------------------------------------------------------------------------------

def render_scalar(value: Any, style: str | None = None) -> str:
    """One line of YAML that loads back as exactly ``value`` under YAML 1.1 and 1.2."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if not isinstance(value, str):
        raise EditError(f"cannot write a {type(value).__name__} value")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise EditError("the text holds characters that are not valid Unicode")
    if style == "'" and value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    if style is None and _plain_is_safe(value):
        return value
    return _double_quoted(value)


def _plain_is_safe(value: str) -> bool:
    if not value or not value.isprintable() or value != value.strip():
        return False
    first = value[0]
    if first in _BAD_FIRST and not (first == "-" and len(value) > 1 and value[1] != " "):
        return False
    if ": " in value or " #" in value or value.endswith(":") or _BAD_ANYWHERE & set(value):
        return False
    if value.startswith(("---", "...")):
        return False
    return _resolves_to_text(value)


_RESOLVERS: list[Any] = []


def _resolves_to_text(value: str) -> bool:
    # Workbench-era readers used YAML 1.1, where yes/no/on/off, 0o17 and 1:20 are not text;
    # quote anything either version would read as something else.
    if not _RESOLVERS:
        from ruamel.yaml.resolver import VersionedResolver

        _RESOLVERS.extend(VersionedResolver(version=v) for v in ((1, 1), (1, 2)))
    from ruamel.yaml.nodes import ScalarNode

    return all(r.resolve(ScalarNode, value, (True, False)) == _STR for r in _RESOLVERS)


def _double_quoted(value: str) -> str:
    out = json.dumps(value, ensure_ascii=False)  # JSON strings are YAML double-quoted scalars
    return re.sub("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]",
                  lambda m: f"\\u{ord(m.group()):04X}", out)


def _inline(value: Any, style: Style) -> str | None:
    if isinstance(value, dict) and not value:
        return "{}"
    if isinstance(value, list) and not value:
        return "[]"
    if isinstance(value, (dict, list)):
        return None
    return render_scalar(value, style.value if isinstance(value, str) else None)


def render_block(value: Any, column: int, layout: Layout, style: Style) -> list[str]:
    """Lines (without line ends) of a block mapping or sequence whose entries start at column."""
    pad, lines = " " * column, []
    if isinstance(value, dict):
        for key, item in value.items():
            head = pad + render_scalar(key, style.key) + ":"
            inline = _inline(item, style)
            if inline is not None:
                lines.append(f"{head} {inline}")
            else:
                lines.append(head)
                step = layout.mapping if isinstance(item, dict) else layout.offset
                lines += render_block(item, column + step, layout, style)
        return lines
    for item in value:
        inline = _inline(item, style)
        if inline is not None:
            lines.append(f"{pad}- {inline}")
        else:
            inner = render_block(item, column + 2, layout, style)
            lines += [f"{pad}- {inner[0].lstrip()}", *inner[1:]]
    return lines


# -- spans -------------------------------------------------------------------------------------

def _kind(node: Any) -> str:
    return {"MappingNode": "map", "SequenceNode": "seq"}.get(type(node).__name__, "scalar")


def _empty(node: Any) -> bool:
    return _kind(node) == "scalar" and node.start_mark.index == node.end_mark.index


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _after_line(text: str, end: int) -> int:
    """Just past the line end of the line holding the character before ``end``."""
    at = text.find("\n", max(end - 1, 0))
    return len(text) if at < 0 else at + 1


def _colon(text: str, key: Any) -> int:
    return text.index(":", key.end_mark.index)


def _pair_end(text: str, key: Any, value: Any) -> int:
    return _colon(text, key) + 1 if _empty(value) else _node_end(text, value)


def _node_end(text: str, node: Any) -> int:
    kind = _kind(node)
    if kind == "scalar" or node.flow_style:
        return node.end_mark.index
    if kind == "map":
        return _pair_end(text, *node.value[-1])
    last = node.value[-1]
    if _empty(last):  # a bare "-": end right after its dash
        return text.rfind("-", 0, last.start_mark.index) + 1
    return _node_end(text, last)


def _owns_line(text: str, node: Any) -> bool:
    start = node.start_mark.index
    return not text[_line_start(text, start):start].strip()


def find(node: Any, key: str) -> tuple[int, Any, Any] | None:
    for index, (k, v) in enumerate(node.value):
        if _kind(k) == "scalar" and k.value == key:
            return index, k, v
    return None


# -- edits -------------------------------------------------------------------------------------

def set_value(text: str, root: Any, keys: tuple[str, ...], value: Any, layout: Layout) -> str:
    """``text`` with the value at ``keys`` set, creating maps on the way where missing or null."""
    if root is None:  # empty or comment-only file
        body = layout.newline.join(render_block(_nest(keys, value), 0, layout, Style()))
        sep = layout.newline if text and not text.endswith("\n") else ""
        return text + sep + body + layout.newline
    node, style = root, style_of(root)
    for depth, key in enumerate(keys):
        rest = _nest(keys[depth + 1:], value)
        if _kind(node) != "map":
            raise EditError(f"{'.'.join(keys[:depth])} is not a map")
        found = find(node, key)
        if found is None:
            return _insert(text, node, key, rest, style, layout)
        _, key_node, value_node = found
        last = depth == len(keys) - 1
        if last or _kind(value_node) == "scalar" and value_node.tag.endswith(":null") or (
                _kind(value_node) == "map" and not value_node.value):
            return _replace(text, key_node, value_node, rest, style, layout)
        node, style = value_node, style_of(value_node, style)
    raise AssertionError("unreachable")


def _nest(keys: tuple[str, ...], value: Any) -> Any:
    for key in reversed(keys):
        value = {key: value}
    return value


def _replace(text: str, key: Any, old: Any, new: Any, style: Style, layout: Layout) -> str:
    """Replace the value of ``key``; ``style`` is that of the map holding it."""
    colon = _colon(text, key)
    kind = _kind(old)
    block_old = kind != "scalar" and not old.flow_style
    if kind == "scalar" and old.style in _QUOTES:
        value_style = old.style  # a value written in quotes stays in the same quotes
    elif kind == "scalar" and old.tag == _STR:
        value_style = None
    else:
        value_style = style.value
    inline = _inline(new, Style(style.key, value_style))
    if inline is not None:
        if _empty(old):
            return text[:colon + 1] + " " + inline + text[colon + 1:]
        if not block_old:
            end = old.end_mark.index
            if text[old.start_mark.index:end].endswith("\n"):  # a block scalar owns its line end
                end -= 1
            return text[:old.start_mark.index] + inline + text[end:]
        start, end = _line_start(text, old.start_mark.index), _after_line(text, _node_end(text, old))
        return text[:colon + 1] + " " + inline + text[colon + 1:start] + text[end:]
    step = layout.mapping if isinstance(new, dict) else layout.offset
    block = render_block(new, key.start_mark.column + step, layout, style_of(old, style))
    body = "".join(line + layout.newline for line in block)
    if block_old:
        start, end = _line_start(text, old.start_mark.index), _after_line(text, _node_end(text, old))
        return text[:start] + body + text[end:]
    cut = colon + 1 if _empty(old) else old.end_mark.index
    if text[colon + 1:cut].endswith("\n"):
        cut -= 1
    text = text[:colon + 1] + text[cut:]
    at = text.find("\n", colon)
    if at < 0:
        return text + layout.newline + body
    return text[:at + 1] + body + text[at + 1:]


def _insert(text: str, node: Any, key: str, value: Any, style: Style, layout: Layout) -> str:
    if node.flow_style:
        inline = _inline(value, style)
        if inline is None:
            raise EditError(f"cannot add a nested block to the one-line map holding {key!r}")
        close = node.end_mark.index - 1
        sep = ", " if node.value else ""
        return text[:close] + sep + render_scalar(key, style.key) + ": " + inline + text[close:]
    column = node.value[0][0].start_mark.column
    at = _after_line(text, _pair_end(text, *node.value[-1]))
    lines = render_block({key: value}, column, layout, style)
    sep = layout.newline if at and not text[:at].endswith("\n") else ""
    return text[:at] + sep + "".join(line + layout.newline for line in lines) + text[at:]


def delete_key(text: str, root: Any, keys: tuple[str, ...]) -> str:
    """``text`` without the entry at ``keys`` (a map left empty becomes ``{}``)."""
    node, parent_key = root, None
    for depth, key in enumerate(keys):
        found = find(node, key) if _kind(node) == "map" else None
        if found is None:
            raise KeyError(".".join(keys[:depth + 1]))
        index, key_node, value_node = found
        if depth < len(keys) - 1:
            node, parent_key = value_node, key_node
    pairs = node.value
    if node.flow_style:
        kept = [text[k.start_mark.index:_pair_end(text, k, v)] for i, (k, v) in enumerate(pairs)
                if i != index]
        span = text[node.start_mark.index:node.end_mark.index]
        return (text[:node.start_mark.index] + ("{" if span.startswith("{") else "")
                + ", ".join(kept) + ("}" if span.endswith("}") else "") + text[node.end_mark.index:])
    end = _after_line(text, _pair_end(text, key_node, value_node))
    if not _owns_line(text, key_node):  # "- key: value": keep the dash for the next key
        if len(pairs) == 1:
            return (text[:key_node.start_mark.index] + "{}"
                    + text[_pair_end(text, key_node, value_node):])
        return text[:key_node.start_mark.index] + text[pairs[index + 1][0].start_mark.index:]
    start = _line_start(text, key_node.start_mark.index)
    text = text[:start] + text[end:]
    if len(pairs) == 1 and parent_key is not None:
        colon = _colon(text, parent_key)
        text = text[:colon + 1] + " {}" + text[colon + 1:]
    return text
