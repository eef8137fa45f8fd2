"""``.gitignore`` / ``.amlignore`` matching with git's semantics, compiled to regular expressions.

Follows gitignore(5) and git's wildmatch: ``#`` comments, unescaped trailing spaces dropped,
``!`` negates, a trailing ``/`` matches directories only, a ``/`` at the start or in the middle
anchors the pattern to the folder of the file that holds it (otherwise it matches a name at any
depth), ``*`` ``?`` ``[...]`` never match ``/``, and ``**`` spans folders only as a whole path
segment (``**/x``, ``x/**``, ``a/**/b``). Within one file the last matching line wins; a file in
a deeper folder wins over its parents (``IgnoreStack``). Like git, a path inside an excluded
folder is never re-included: the walker simply does not enter excluded folders.

One deliberate difference: a trailing ``\\r`` is dropped from each line, so files saved on
Windows (as Workbench projects often were) mean what their author meant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The ignore files read in every folder; later names win over earlier ones in the same folder.
IGNORE_FILES = (".gitignore", ".amlignore")

_POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9", "alpha": "a-zA-Z", "blank": " \\t", "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~",
    "punct": "!-/:-@\\[-`{-~", "space": " \\t\\n\\r\\f\\v", "upper": "A-Z", "xdigit": "0-9A-Fa-f",
}
_NEVER = "(?!)"  # git's wildmatch aborts on a malformed pattern: it then matches nothing


@dataclass(frozen=True, slots=True)
class IgnorePattern:
    """One meaningful line of an ignore file."""

    text: str          # the line as written (for messages)
    regex: str         # matches a path relative to the ignore file's folder
    negate: bool       # ``!pattern``: re-include
    dir_only: bool     # ``pattern/``: directories only


def _strip_trailing_spaces(line: str) -> str:
    end = len(line)
    while end and line[end - 1] == " ":
        # A space escaped by an odd number of backslashes is kept.
        slashes = 0
        while end - 1 - slashes > 0 and line[end - 2 - slashes] == "\\":
            slashes += 1
        if slashes % 2:
            break
        end -= 1
    return line[:end]


def _bracket(glob: str, i: int) -> tuple[str, int] | None:
    """Translate the class starting after ``[`` at ``glob[i]``; None when it never closes."""
    negate = i < len(glob) and glob[i] in "!^"
    if negate:
        i += 1
    parts: list[str] = []
    first = True
    while i < len(glob):
        c = glob[i]
        if c == "]" and not first:
            body = "".join(parts)
            if not body:  # only empty ranges: matches no character (or any, negated)
                return ("[^/]" if negate else _NEVER), i + 1
            # A class never matches "/" (wildmatch with WM_PATHNAME).
            return (f"[^/{body}]" if negate else f"(?!/)[{body}]"), i + 1
        first = False
        if c == "[" and glob.startswith("[:", i):
            # As wildmatch: "[:name:]" up to the first "]"; an unknown name spoils the pattern.
            end = glob.find("]", i + 2)
            if end == -1:
                return None
            if end - 1 >= i + 2 and glob[end - 1] == ":":
                name = glob[i + 2:end - 1]
                if name not in _POSIX_CLASSES:
                    return None
                parts.append(_POSIX_CLASSES[name])
                i = end + 1
                continue
        if c == "\\":
            i += 1
            if i >= len(glob):
                return None
            c = glob[i]
        lo = c
        if glob.startswith("-", i + 1) and i + 2 < len(glob) and glob[i + 2] != "]":
            i += 2
            hi = glob[i]
            if hi == "\\":
                i += 1
                if i >= len(glob):
                    return None
                hi = glob[i]
            if hi < lo:  # an empty range matches nothing, as in wildmatch
                lo = hi = ""
            if lo:
                parts.append(f"{re.escape(lo)}-{re.escape(hi)}")
        else:
            parts.append(re.escape(lo))
        i += 1
    return None


def _segment(seg: str) -> str | None:
    """Regex for one path segment (no ``/`` inside); None for a malformed segment."""
    out: list[str] = []
    i = 0
    while i < len(seg):
        c = seg[i]
        if c == "*":
            while i < len(seg) and seg[i] == "*":
                i += 1
            out.append("[^/]*")
            continue
        if c == "?":
            out.append("[^/]")
        elif c == "[":
            got = _bracket(seg, i + 1)
            if got is None:
                return None
            text, i = got
            out.append(text)
            continue
        elif c == "\\":
            i += 1
            if i >= len(seg):
                return None  # a trailing lone backslash matches nothing in git
            out.append(re.escape(seg[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _split_segments(glob: str) -> list[str]:
    """Split on ``/`` outside brackets (a ``/`` inside ``[...]`` belongs to the class)."""
    segs: list[str] = []
    start = i = 0
    while i < len(glob):
        c = glob[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            got = _bracket(glob, i + 1)
            if got is not None:
                i = got[1]
                continue
        if c == "/":
            segs.append(glob[start:i])
            start = i + 1
        i += 1
    segs.append(glob[start:])
    return segs


def translate(glob: str, *, anchored: bool) -> str:
    """Regex (for ``fullmatch``) equivalent to a gitignore glob, relative to its folder."""
    segs = _split_segments(glob)
    parts: list[str] = []
    for n, seg in enumerate(segs):
        last = n == len(segs) - 1
        if len(seg) >= 2 and seg.strip("*") == "":
            # "**" as a whole segment spans any number of folders, including none.
            parts.append(".*" if last else "(?:.*/)?")
            continue
        rx = _segment(seg)
        if rx is None:
            return _NEVER
        parts.append(rx if last else rx + "/")
    body = "".join(parts)
    return body if anchored else "(?:.*/)?" + body


def parse_line(line: str) -> IgnorePattern | None:
    """The pattern on one ignore-file line, or None for blanks and comments."""
    text = _strip_trailing_spaces(line.rstrip("\r\n").removesuffix("\r"))
    if not text or text.startswith("#"):
        return None
    negate = text.startswith("!")
    glob = text[1:] if negate else text
    dir_only = glob.endswith("/")
    if dir_only:
        glob = glob[:-1]  # git drops exactly one
    if not glob:
        return None
    anchored = "/" in glob
    glob = glob.removeprefix("/")
    if not glob:
        return None
    return IgnorePattern(text=text, regex=translate(glob, anchored=anchored), negate=negate,
                         dir_only=dir_only)


class IgnoreRules:
    """The patterns of the ignore files of one folder, compiled to two regexes.

    Patterns are joined in reverse order as one alternation of groups: the first alternative
    that matches is the last matching line of the file, and ``lastindex`` says which it was.
    """

    __slots__ = ("patterns", "_for_dirs", "_for_files")

    def __init__(self, patterns: list[IgnorePattern]) -> None:
        self.patterns = tuple(patterns)
        self._for_dirs = self._compile(list(self.patterns))
        self._for_files = self._compile([p for p in self.patterns if not p.dir_only])

    @classmethod
    def parse(cls, text: str) -> "IgnoreRules":
        text = text.removeprefix("\ufeff")  # git skips a UTF-8 byte order mark
        return cls([p for p in map(parse_line, text.split("\n")) if p is not None])

    @staticmethod
    def _compile(patterns: list[IgnorePattern]):
        if not patterns:
            return None
        patterns.reverse()
        # Inner regexes use only non-capturing groups, so group k is alternative k.
        rx = re.compile("|".join(f"({p.regex})" for p in patterns), re.DOTALL)
        return rx, tuple(not p.negate for p in patterns)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def match(self, relpath: str, *, is_dir: bool) -> bool | None:
        """True if ignored, False if re-included by ``!``, None if no line matches."""
        compiled = self._for_dirs if is_dir else self._for_files
        if compiled is None:
            return None
        rx, verdicts = compiled
        m = rx.fullmatch(relpath)
        return None if m is None else verdicts[m.lastindex - 1]


#: Files a run is submitted with: no ignore file can leave them out of a snapshot, or the run
#: would lack its own .compute, .runconfig and dependency files (Workbench projects often have
#: an ``aml_config/.gitignore`` that ignores everything but the default configs).
CONFIG_DIR = "aml_config"
_DEPENDENCY_FILES = ("conda_dependencies.yml", "spark_dependencies.yml")


def always_kept(relpath: str) -> bool:
    """Whether a project-relative file is a config a run may be submitted with."""
    folder, _, name = relpath.rpartition("/")
    return folder == CONFIG_DIR and (name.endswith((".runconfig", ".compute"))
                                     or name in _DEPENDENCY_FILES)


def _parents(relpath: str) -> list[str]:
    parts = relpath.split("/")[:-1]
    return ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]


class IgnoreStack:
    """The rules in force in one folder: its own ignore files, then each parent's.

    ``keep`` names more files (a run's dependency files outside ``aml_config/``) that no rule
    may exclude; like the configs of ``always_kept`` they are taken even from an excluded
    folder, while the rest of such a folder stays out.
    """

    __slots__ = ("_levels", "_keep", "_keep_dirs", "_keep_tops")

    def __init__(self, levels: tuple[tuple[str, IgnoreRules], ...] = (), *,
                 keep: frozenset[str] = frozenset()) -> None:
        self._levels = levels  # (folder prefix ending in "/" or "", rules), deepest first
        self._keep = keep
        self._keep_dirs = frozenset({CONFIG_DIR, *(d for k in keep for d in _parents(k))})
        self._keep_tops = frozenset(d.split("/", 1)[0] for d in self._keep_dirs)

    def push(self, prefix: str, rules: IgnoreRules) -> "IgnoreStack":
        """The stack for a subfolder ``prefix`` that has rules of its own."""
        if not rules:
            return self
        return IgnoreStack(((prefix, rules),) + self._levels, keep=self._keep)

    def ignored(self, relpath: str, *, is_dir: bool) -> bool:
        """Whether a project-relative posix path is excluded."""
        if is_dir:
            if relpath in self._keep_dirs:
                return False
        elif relpath in self._keep or always_kept(relpath):
            return False
        if self._by_rules(relpath, is_dir=is_dir):
            return True
        # Inside a folder entered only for the files it must keep, the rest stays out.
        if relpath.split("/", 1)[0] not in self._keep_tops or "/" not in relpath:
            return False
        return any(self._by_rules(d, is_dir=True) for d in _parents(relpath)
                   if d in self._keep_dirs)

    def _by_rules(self, relpath: str, *, is_dir: bool) -> bool:
        for prefix, rules in self._levels:
            if not relpath.startswith(prefix):
                continue
            verdict = rules.match(relpath[len(prefix):], is_dir=is_dir)
            if verdict is not None:
                return verdict
        return False
