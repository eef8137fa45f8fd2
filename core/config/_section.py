"""Typed reads of one mapping of a config file; a wrong type is a ConfigError at its position."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, overload

from launchdeck.core.errors import ConfigError

# The YAML helpers (yamlio) are imported where a file is read: a submit whose configs come
# from the cache (core.runs.configcache) loads the config classes, and reads no YAML.
if TYPE_CHECKING:
    from launchdeck.core.config.yamlio import YamlDocument


class Section:
    """One mapping (``node``) of ``doc``; ``prefix`` names it in messages (``"packages[2]."``)."""

    def __init__(self, doc: YamlDocument, node: Any, prefix: str = "") -> None:
        self.doc, self.node, self.prefix = doc, node, prefix

    def name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def has(self, key: str) -> bool:
        return key in self.node

    def get(self, key: str) -> Any:
        return self.node.get(key)

    def fail(self, key: str, message: str, *, part: str = "value",
             cls: type[ConfigError] = ConfigError) -> ConfigError:
        return self.doc.error(message, self.node, key, part=part, field=self.name(key), cls=cls)

    def wrong(self, key: str, expected: str) -> ConfigError:
        from launchdeck.core.config.yamlio import describe

        value = self.node[key]
        raw = self.doc.source_text(self.node, key) if value is not None else None
        return self.fail(key, f"{self.name(key)} must be {expected}, got {describe(value, raw)}")

    def missing(self, key: str, explanation: str, known: Iterable[str] = ()) -> ConfigError:
        """``key`` is required; suggest a misspelt key of this map that looks like it."""
        message = f"{self.name(key)} is required ({explanation})"
        import difflib  # here: only a config with a missing key needs it

        unknown = [str(k) for k in self.node if k not in set(known) | {key}]
        near = difflib.get_close_matches(key, unknown, n=1, cutoff=0.6) or [
            k for k in unknown if k.lower() == key.lower()]
        if near:
            return self.fail(near[0], f"{message}; did you mean {key} instead of {near[0]}?",
                             part="key")
        pos = self.doc.where(self.node) if self.prefix else None
        return ConfigError(message, file=self.doc.display, line=pos[0] if pos else None,
                           column=pos[1] if pos else None, field=self.name(key))

    @overload
    def text(self, key: str, *, expected: str = ..., required: str,
             known: Iterable[str] = ...) -> str: ...
    @overload
    def text(self, key: str, *, expected: str = ..., required: None = ...,
             known: Iterable[str] = ...) -> str | None: ...

    def text(self, key: str, *, expected: str = "text", required: str | None = None,
             known: Iterable[str] = ()) -> str | None:
        """A text value; missing, null or empty is None (or an error when ``required`` says why)."""
        value = self.node.get(key)
        if value is not None and not isinstance(value, str):
            raise self.wrong(key, expected)
        if value is None or value == "":
            if required:
                if self.has(key):
                    raise self.fail(key, f"{self.name(key)} must not be empty ({required})")
                raise self.missing(key, required, known)
            return None
        return str(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.node.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.wrong(key, "true or false")
        return value

    def integer(self, key: str, default: int | None, *, low: int | None = None,
                high: int | None = None, expected: str = "a whole number") -> int | None:
        value = self.node.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.wrong(key, expected)
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.wrong(key, expected)
        return int(value)

    def scalar_text(self, node: Any, key: Any, what: str) -> str:
        """Any scalar as the text written in the file (``007`` stays ``007``); null is an error."""
        value = node[key]
        if isinstance(value, (dict, list)):
            from launchdeck.core.config.yamlio import describe

            raise self.doc.error(f"{what} must be a single value, got {describe(value)}",
                                 node, key, field=what)
        if value is None:
            raise self.doc.error(f'{what} has no value; write "" for empty text', node, key,
                                 field=what)
        return self.doc.source_text(node, key)

    def text_list(self, key: str, *, item: str, allow_numbers: bool = True) -> tuple[str, ...]:
        """A list of scalars as text (missing or null: empty); ``item`` says what one is."""
        value = self.node.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.wrong(key, f"a list, each item {item}")
        items = []
        for index, element in enumerate(value):
            label = f"{self.name(key)}[{index}]"
            if not allow_numbers and not isinstance(element, (str, dict, list, type(None))):
                from launchdeck.core.config.yamlio import describe

                raw = self.doc.source_text(value, index)
                raise self.doc.error(f"{label} must be {item}, got {describe(element, raw)}",
                                     value, index, field=label)
            items.append(self.scalar_text(value, index, label))
        return tuple(items)

    def unknown(self, known: Iterable[str]) -> tuple[str, ...]:
        known = set(known)
        return tuple(f"{self.prefix}{k}" for k in self.node if k not in known)
