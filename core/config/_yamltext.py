"""YAML text surgery behind ``YamlDocument.set`` / ``delete``: change one entry in place.

ruamel.yaml re-dumps a whole document, which rewrites lines nobody touched (``null`` becomes
empty, ``False`` becomes ``false``, spacing after colons shrinks, trailing comments move to a new
key). So edits splice text instead: the document is composed into nodes with character marks,
the one span that changes is rewritten, and every other character stays as it was. The caller
re-parses the result and checks it means exactly what was intended.
"""

from __future__ import annotations

from typing import Any

from launchdeck.core.config._yamlrender import (QUOTES, TEXT_TAG, EditError, Layout, Style,
                                     plain_is_safe, render_block, render_inline,
                                     render_scalar)


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
    key_style = node.value[0][0].style if node.value[0][0].style in QUOTES else None
    counts = {'"': 0, "'": 0, None: 0}
    for _key, value in node.value:
        if _kind(value) == "scalar" and value.tag == TEXT_TAG and value.value:
            quoted = value.style in QUOTES
            if quoted and not plain_is_safe(value.value):
                continue  # quoted because it had to be ("007"), not by the file's choice
            counts[value.style if quoted else None] += 1
    value_style = max(QUOTES, key=counts.__getitem__)
    return Style(key_style, value_style if counts[value_style] > counts[None] else None)


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
    if kind == "scalar" and old.style in QUOTES:
        value_style = old.style  # a value written in quotes stays in the same quotes
    elif kind == "scalar" and old.tag == TEXT_TAG:
        value_style = None
    else:
        value_style = style.value
    inline = render_inline(new, Style(style.key, value_style))
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
        inline = render_inline(value, style)
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
