"""What a user is told about config files that load: nothing they wrote is silently ignored.

Every command that loads a config (submit, target check, runconfig show, the dashboard) asks
``warnings_for`` and shows the result; the run still goes. A warning names ``file:line`` and
says one of:

- a Workbench key deck does not implement, and what happens instead;
- a key of the 2018 SDK format deck does not read, and what happens instead;
- an unknown key, with "did you mean" when a known key is close (``UseSamplng``, ``Taget``);
- a tab read as a space (from the loader).
"""

from __future__ import annotations

import difflib
from typing import Any, Collection, Iterable, Sequence

from launchdeck.core.config.yamlio import ConfigWarning, YamlDocument, load_document
from launchdeck.core.errors import ConfigError

#: Workbench run configuration keys deck does not implement -> what happens instead.
WORKBENCH_RUNCONFIG = {
    "UseSampling": "data sources are read in full; deck applies no sampling",
    "DataSourceSettings": "no data source (.dsource) settings are applied; the script reads "
                          "its data itself",
    "DataSourceSubstitutions": "no data source is swapped for another; the script reads the "
                               "data it names",
    "DataReferences": "nothing is mounted or downloaded; the script reads data from paths it "
                      "can reach",
}
#: Workbench compute keys deck does not implement (every documented one is implemented).
WORKBENCH_COMPUTE: dict[str, str] = {}


def _compute_keys() -> set[str]:
    from launchdeck.core.config.compute import KEYS

    known = set(KEYS)
    try:  # keys read by the image builder from the same file
        from launchdeck.core.images.settings import CA_BUNDLE_KEY, OFFLINE_KEY
        known |= {CA_BUNDLE_KEY, OFFLINE_KEY}
    except ImportError:
        pass
    return known


def _kind(config: Any) -> tuple[set[str], dict[str, str]]:
    name = type(config).__name__
    if name == "ComputeConfig":
        return _compute_keys(), WORKBENCH_COMPUTE
    if name == "RunConfiguration":
        from launchdeck.core.config.runconfig import KEYS

        return set(KEYS), WORKBENCH_RUNCONFIG
    if name == "CondaDependencies":
        from launchdeck.core.config.conda import KNOWN

        return set(KNOWN), {}
    if name == "SparkDependencies":
        from launchdeck.core.config.spark import KNOWN

        return set(KNOWN), {}
    return set(), {}


def warnings_for(*configs: Any) -> list[ConfigWarning]:
    """The warnings about each loaded config (None entries are skipped), file by file."""
    out: list[ConfigWarning] = []
    for config in configs:
        if config is not None:
            out += _warnings_of(config)
    return out


def _warnings_of(config: Any) -> list[ConfigWarning]:
    path = getattr(config, "path", None)
    if path is None:
        return []
    try:
        doc = load_document(path)
    except ConfigError:
        return []  # it loaded a moment ago; a file changed since is reported by its next use
    out = list(doc.warnings)
    known, workbench = _kind(config)
    sdk = getattr(config, "file_format", "workbench") == "sdk2018"
    if sdk and getattr(config, "script", None):
        out.append(_at(doc, ("script",), "deck runs the script named on its command line "
                       f"(deck submit -c {config.name} SCRIPT); this file's script "
                       f"({config.script}) is not run by itself"))
    for name in getattr(config, "unknown_keys", ()):
        if name in known:  # read by another part of deck (the image builder's keys)
            continue
        out.append(_at(doc, _path(name), _message(name, known, workbench, sdk)))
    return sorted(out, key=lambda w: w.line if w.line is not None else 1 << 30)


def _message(name: str, known: set[str], workbench: dict[str, str], sdk: bool) -> str:
    if sdk:
        from launchdeck.core.config.sdkrunconfig import instead

        return f"{name}: a key of the 2018 SDK format that deck does not read; {instead(name)}"
    leaf = name.rsplit(".", 1)[-1]
    known_here: Collection[str]
    if "[" in name:  # spark packages[i].key
        from launchdeck.core.config.spark import _PACKAGE_KEYS as known_here
    else:
        known_here = known
    if leaf in workbench:
        return f"{leaf}: Workbench key, not supported by deck; {workbench[leaf]}"
    near = _close(leaf, [*known_here, *workbench])
    hint = f"; did you mean {near}?" if near else f" (known keys: {', '.join(sorted(known_here))})"
    return f"{name}: unknown key, ignored{hint}"


def _close(key: str, candidates: Iterable[str]) -> str | None:
    candidates = [str(c) for c in candidates]
    by_case = [c for c in candidates if c.lower() == key.lower()]
    if by_case:
        return by_case[0]
    near = difflib.get_close_matches(key, candidates, n=1, cutoff=0.75)
    if not near:  # compare case-blind too: "usesampling" is "UseSampling"
        lowered = {c.lower(): c for c in candidates}
        near = [lowered[m] for m in difflib.get_close_matches(key.lower(), list(lowered), n=1,
                                                              cutoff=0.75)]
    return near[0] if near else None


def _path(name: str) -> list[Any]:
    """``packages[2].grup`` -> ["packages", 2, "grup"]; ``environment.docker`` -> two keys."""
    parts: list[Any] = []
    for piece in name.split("."):
        while "[" in piece and piece.endswith("]"):
            head, _, index = piece.partition("[")
            parts.append(head)
            piece = index[:-1]
            if piece.isdigit():
                parts.append(int(piece))
                piece = ""
        if piece:
            parts.append(piece)
    return parts


def _at(doc: YamlDocument, path: Sequence[Any], message: str) -> ConfigWarning:
    node, line = doc.data, None
    for step in path:
        try:
            pos = doc.where(node, step, part="key") if isinstance(node, dict) else \
                doc.where(node, step)
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
        if pos is not None:
            line = pos[0]
    return ConfigWarning(doc.display, line, message)


def format_warnings(warnings: Iterable[ConfigWarning]) -> list[str]:
    """One line each, duplicates (a file loaded twice) left out."""
    return list(dict.fromkeys(str(w) for w in warnings))
