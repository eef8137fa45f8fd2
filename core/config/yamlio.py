"""Round-trip YAML documents: load with positions, edit one value in place, save atomically.

Every file of a project's ``aml_config/`` goes through here. Parse errors and wrong types become
``ConfigError`` with ``file:line:column`` (1-based). Edits splice text (see ``_yamltext``), so
comments, key order, quoting and indentation of every other line stay byte for byte, and saving
an unchanged document writes nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Mapping, Sequence, TypeVar, overload

from launchdeck.core.config import _yamlguard, _yamltext
from launchdeck.core.config._atomicfile import atomic_write, default_mode
from launchdeck.core.config._displaypath import display_path
from launchdeck.core.config._filelock import locked
from launchdeck.core.config._yamlrender import (EditError, Layout, Style, comparable, plain,
                                                plain_input, render_block)
from launchdeck.core.errors import ConfigError

_E = TypeVar("_E", bound=ConfigError)
_lock = threading.RLock()  # a ruamel YAML instance is not safe to share between threads
_yaml_instance: Any = None
_BOM = "\ufeff"
_MISSING = object()
KeyPath = str | Sequence[str]


def _yaml() -> Any:
    global _yaml_instance
    if _yaml_instance is None:
        from ruamel.yaml import YAML
        from ruamel.yaml.scanner import Scanner

        _yaml_instance = YAML(typ="rt")
        # The round-trip scanner joins runs of comment lines with string concatenation, which
        # is quadratic (8 MB of comments took 40 s). Deck never uses ruamel's comments (edits
        # splice the text itself), so the plain scanner, which skips them, is enough: same
        # nodes, same marks, linear time.
        _yaml_instance.Scanner = Scanner
    return _yaml_instance


@dataclass(frozen=True)
class ConfigWarning:
    """Something about a config file that still loads but that the user should know."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: warning: {self.message}"


def describe(value: Any, raw: str | None = None) -> str:
    """What a value is, for 'X must be ..., got <this>'."""
    if value is None:
        return "null (no value)"
    if isinstance(value, bool):
        return raw or str(value).lower()
    if isinstance(value, (int, float)):
        return f"the number {raw or value}"
    if isinstance(value, date):
        return f"the date {raw or value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return '"' + "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode()
                             for ch in shown) + '"'
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


class YamlDocument:
    """One YAML file: ``data`` is the ruamel CommentedMap, ``path`` the file."""

    def __init__(self, path: Path, text: str, data: Any, *, on_disk: bytes | None,
                 bom: bool = False, warnings: list[ConfigWarning] | None = None) -> None:
        self.path = path
        self.data = data
        #: What the user should be told about the file as read (tabs read as spaces, ...).
        self.warnings = list(warnings or [])
        self._text = text
        self._saved_text = text if on_disk is not None else None
        self._on_disk = on_disk
        self._bom = bom
        self._lines: list[str] | None = None

    # -- reading -------------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The document as it would be saved."""
        return self._text

    @property
    def changed(self) -> bool:
        return self._text != self._saved_text

    @property
    def display(self) -> str:
        return display_path(self.path)

    def get(self, key_path: KeyPath, default: Any = None) -> Any:
        node = self.data
        for key in _keys(key_path):
            if not isinstance(node, dict) or key not in node:
                return default
            node = node[key]
        return node

    def where(self, node: Any, key: Any = None, *, part: str = "value") -> tuple[int, int] | None:
        """1-based (line, column) of ``node[key]`` (its key with part="key"), or of ``node``."""
        lc = getattr(node, "lc", None)
        if lc is None:
            return None
        try:
            if key is None:
                line, col = lc.line, lc.col
            elif isinstance(node, list):
                line, col = lc.item(key)
            elif part == "key":
                line, col = lc.key(key)
            else:
                line, col = lc.value(key)
                if node.get(key) is None and line != lc.key(key)[0]:
                    line, col = lc.key(key)  # "Key:" with nothing after: point at the key
        except (KeyError, IndexError, TypeError, AttributeError):
            return None
        return (line + 1, col + 1) if line is not None else None

    @overload
    def error(self, message: str, node: Any = ..., key: Any = ..., *, part: str = ...,
              field: str | None = ...) -> ConfigError: ...
    @overload
    def error(self, message: str, node: Any = ..., key: Any = ..., *, part: str = ...,
              field: str | None = ..., cls: type[_E]) -> _E: ...

    def error(self, message: str, node: Any = None, key: Any = None, *, part: str = "value",
              field: str | None = None, cls: type[ConfigError] = ConfigError) -> ConfigError:
        """A ConfigError at the position of ``node[key]`` (or of ``node``, or the whole file)."""
        pos = self.where(node, key, part=part) if node is not None else None
        return cls(message, file=self.display, line=pos[0] if pos else None,
                   column=pos[1] if pos else None, field=field)

    def source_text(self, node: Any, key: Any) -> str:
        """A scalar as written in the file: ``007`` stays ``007``, ``1.50`` stays ``1.50``."""
        value = node[key]
        if isinstance(value, str):
            return value
        pos = self.where(node, key)
        if pos is not None and value is not None:
            if self._lines is None:
                self._lines = self._text.split("\n")
            line = self._lines[pos[0] - 1].rstrip("\r")[pos[1] - 1:]
            flow = getattr(getattr(node, "fa", None), "flow_style", lambda: False)()
            raw = re.split(r"[,\]}]" if flow else r"\s#", line)[0].strip()
            if raw and not raw.startswith(("&", "!", "*")):
                return raw
        return "true" if value is True else "false" if value is False else str(value)

    # -- editing -------------------------------------------------------------------------------

    def set(self, key_path: KeyPath, value: Any) -> None:
        """Set one value (maps on the way are created; a null one becomes a map)."""
        keys = _keys(key_path)
        value = plain_input(value, ".".join(keys))
        if comparable(plain(self.get(keys, _MISSING))) == comparable(value):
            return  # rewriting an equal value could still change how it is written
        expected = plain(self.data)
        node = expected
        for key in keys[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[keys[-1]] = value
        self._edit(lambda text, root: _yamltext.set_value(
            text, root, keys, value, _yamltext.detect_layout(text, root)), expected, keys)

    def delete(self, key_path: KeyPath) -> None:
        """Remove one key and its value; a map left empty becomes ``{}``."""
        keys = _keys(key_path)
        expected = plain(self.data)
        node = expected
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict) or keys[-1] not in node:
            raise ConfigError(f"{'.'.join(keys)} is not in the file", file=self.display)
        del node[keys[-1]]
        self._edit(lambda text, root: _yamltext.delete_key(text, root, keys), expected, keys)

    def _edit(self, splice: Any, expected: Any, keys: tuple[str, ...]) -> None:
        what = ".".join(keys)
        with _lock:
            # Separator tabs are read as spaces (one character for one), so the marks of the
            # parsed copy index the file's own text and the splice keeps its other tabs.
            root = _yaml().compose(_yamlguard.untab(self._text)[0])
        try:
            text = splice(self._text, root)
        except (EditError, KeyError, ValueError) as exc:
            raise ConfigError(f"cannot change {what}: {exc}; nothing was changed",
                              file=self.display) from None
        try:
            data = _parse(text, self.path)[0]
        except ConfigError as exc:  # e.g. the old value carried an anchor used elsewhere
            raise ConfigError(f"cannot change {what}: the file would no longer parse "
                              f"({exc.message}); nothing was changed", file=self.display) from None
        # The splice must mean exactly the intended change; refuse anything else.
        if comparable(plain(data)) != comparable(expected):
            raise ConfigError(f"cannot change {what} without disturbing other values; nothing "
                              "was changed (please report this file)", file=self.display)
        self._text, self.data, self._lines = text, data, None

    # -- saving --------------------------------------------------------------------------------

    def save(self, *, force: bool = False) -> bool:
        """Write the file atomically if it changed or is new; return whether it was written.

        A new document never replaces an existing file unless ``force``; a loaded one is not
        written over a file that changed on disk since it was read unless ``force``.
        """
        if self._on_disk is not None and not self.changed:
            return False
        payload = ((_BOM if self._bom else "") + self._text).encode("utf-8")
        target = Path(os.path.realpath(self.path))  # keep a symlinked config a symlink
        try:
            with locked(target):
                self._write_locked(target, payload, force)
        except FileExistsError:
            raise ConfigError("already exists; nothing was written", file=self.display) from None
        except FileNotFoundError:
            if not self.path.parent.is_dir():
                raise ConfigError(f"cannot write: the folder {display_path(self.path.parent)} "
                                  "does not exist", file=self.display) from None
            raise ConfigError("was removed since it was read; nothing was written",
                              file=self.display) from None
        except OSError as exc:
            raise ConfigError(f"cannot write: {exc.strerror or exc}", file=self.display) from None
        self._on_disk, self._saved_text = payload, self._text
        return True

    def _write_locked(self, target: Path, payload: bytes, force: bool) -> None:
        # Under the file's lock: the check that nobody changed the file since it was read and
        # the replace are one step for every deck process and thread.
        if self._on_disk is None:
            mode = default_mode()
        else:
            current = target.read_bytes()
            if current != self._on_disk and not force:
                raise ConfigError("changed on disk since it was read; nothing was written "
                                  "(reload and try again)", file=self.display)
            mode = target.stat().st_mode & 0o7777
        atomic_write(target, payload, mode, exclusive=self._on_disk is None and not force)


def load_document(path: str | os.PathLike[str]) -> YamlDocument:
    """Read and parse one YAML file whose top level is a map (an empty file is an empty map)."""
    path = Path(path)
    try:
        raw = _yamlguard.read_config_bytes(path, display_path(path))
    except FileNotFoundError:
        raise ConfigError("no such file", file=display_path(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=display_path(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                          file=display_path(path), line=line) from None
    bom = text.startswith(_BOM)
    text = text[1:] if bom else text
    data, warnings = _parse(text, path)
    return YamlDocument(path, text, data, on_disk=raw, bom=bom, warnings=warnings)


@contextlib.contextmanager
def editing(path: str | os.PathLike[str]):
    """Hold the file's lock while it is read, changed and saved: no concurrent edit is lost.

    ``with editing(path) as doc: doc.set(...); doc.save()``; the lock is re-entrant within a
    thread, other threads and processes wait (see ``_filelock``).
    """
    with locked(Path(os.path.realpath(path))):
        yield load_document(path)


def new_document(path: str | os.PathLike[str], mapping: Mapping[str, Any],
                 header_comment: str | None = None, *,
                 key_comments: Mapping[str, str] | None = None) -> YamlDocument:
    """A document for a file that does not exist yet; ``save()`` creates it.

    ``header_comment`` and ``key_comments`` (text, may span lines) become ``#`` lines at the top
    and above each key.
    """
    layout = Layout()
    lines = _comment_lines(header_comment)
    for key, value in plain_input(dict(mapping), "").items():
        lines += _comment_lines((key_comments or {}).get(key))
        lines += render_block({key: value}, 0, layout, Style())
    text = "".join(line + "\n" for line in lines)
    return YamlDocument(Path(path), text, _parse(text, Path(path))[0], on_disk=None)


def _comment_lines(text: str | None) -> list[str]:
    return [f"# {line}".rstrip() for line in text.splitlines()] if text else []


def _parse(text: str, path: Path) -> tuple[Any, list[ConfigWarning]]:
    """The data of ``text`` and the warnings about how it was read."""
    from ruamel.yaml.comments import CommentedMap

    shown = display_path(path)
    if len(text) > _yamlguard.MAX_BYTES:  # an edit may grow a file; a read is bounded before
        raise ConfigError(_yamlguard.too_big(len(text.encode("utf-8"))), file=shown)
    parse_text, replaced = _yamlguard.untab(text)
    if replaced:
        try:
            with _lock:
                inside = _yamlguard.tabs_in_scalars(_yaml().compose(parse_text), replaced)
        except Exception:  # noqa: BLE001 - the parse below reports what is wrong
            inside = set()
        if inside:  # tabs inside block text are the value's own: give them back
            chars = list(parse_text)
            for index in inside:
                chars[index] = "\t"
            parse_text = "".join(chars)
            replaced = [i for i in replaced if i not in inside]
    data = _load(parse_text, text, shown)
    warnings = []
    for line in _yamlguard.line_numbers(text, replaced):
        warnings.append(ConfigWarning(shown, line, "a tab separates a key or a list item from "
                                      "its value; read as a space (YAML allows only spaces "
                                      "there, so other tools may refuse this file)"))
    if data is None:
        return CommentedMap(), warnings
    if not isinstance(data, dict):
        raise ConfigError(f"must be a map of key: value lines, got {describe(data)}",
                          file=shown, line=1, column=1)
    try:
        _yamlguard.check_expansion(data)
    except _yamlguard.AliasBomb as exc:
        raise ConfigError(f"refusing the file: {exc} (a YAML alias bomb?); write the values "
                          "out instead of repeating aliases", file=shown) from None
    return data, warnings


def _load(parse_text: str, text: str, shown: str) -> Any:
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    try:
        with _lock:
            return _yaml().load(parse_text)
    except RecursionError:
        raise ConfigError("nested too deeply to read (thousands of levels of lists or maps)",
                          file=shown) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = (exc.problem or exc.context or "not valid YAML").strip()
        raise ConfigError(message, file=shown, line=mark.line + 1 if mark else None,
                          column=mark.column + 1 if mark else None) from None
    except ReaderError as exc:
        before = text[:exc.position]
        raise ConfigError(f"character U+{exc.character:04X} is not allowed in YAML",
                          file=shown, line=before.count("\n") + 1,
                          column=exc.position - before.rfind("\n")) from None
    except YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=shown) from None


def _keys(key_path: KeyPath) -> tuple[str, ...]:
    keys = (key_path,) if isinstance(key_path, str) else tuple(key_path)
    if not keys or not all(isinstance(k, str) and k for k in keys):
        raise ValueError(f"a key path is one or more non-empty strings, got {key_path!r}")
    return keys
