"""``spark_dependencies.yml``: Spark configuration, Maven repositories and packages of a run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from launchdeck.core.config._section import Section

if TYPE_CHECKING:
    from launchdeck.core.config.runconfig import RunConfiguration

KNOWN = ("configuration", "repositories", "packages")
_PACKAGE_KEYS = ("group", "artifact", "version")


@dataclass(frozen=True)
class SparkPackage:
    """A Maven coordinate handed to spark-submit --packages."""

    group: str
    artifact: str
    version: str

    def coordinate(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"


@dataclass(frozen=True, kw_only=True)
class SparkDependencies:
    path: Path
    configuration: dict[str, str]
    repositories: tuple[str, ...] = ()
    packages: tuple[SparkPackage, ...] = ()
    unknown_keys: tuple[str, ...] = ()

    def submit_arguments(self) -> list[str]:
        """spark-submit arguments: ``--conf k=v`` per setting, then repositories and packages."""
        args: list[str] = []
        for key, value in self.configuration.items():
            args += ["--conf", f"{key}={value}"]
        if self.repositories:
            args += ["--repositories", ",".join(self.repositories)]
        if self.packages:
            args += ["--packages", ",".join(p.coordinate() for p in self.packages)]
        return args

    def meaning(self) -> dict[str, Any]:
        """A canonical JSON-able dict; Spark settings are a set, repository order is search order."""
        return {"configuration": dict(sorted(self.configuration.items())),
                "repositories": list(self.repositories),
                "packages": [p.coordinate() for p in self.packages]}


def load_spark(path: str | os.PathLike[str]) -> SparkDependencies:
    from launchdeck.core.config.yamlio import describe, load_document  # see config._section

    doc = load_document(path)
    s = Section(doc, doc.data)
    conf_node = s.get("configuration")
    if conf_node is not None and not isinstance(conf_node, dict):
        raise s.wrong("configuration", "a map of Spark setting: value")
    configuration = {}
    for key in conf_node or {}:
        if not isinstance(key, str) or not key.strip() or "=" in key:
            raise doc.error(f"configuration: {describe(key)} is not a Spark setting name",
                            conf_node, key, part="key", field="configuration")
        configuration[key] = s.scalar_text(conf_node, key, f"configuration.{key}")
    repositories = s.text_list("repositories", item="a repository URL", allow_numbers=False)
    for index, url in enumerate(repositories):
        if "," in url or not url.strip():
            raise doc.error(f"repositories[{index}] must be one URL (no commas), got "
                            f"{describe(url)}", s.get("repositories"), index,
                            field=f"repositories[{index}]")
    unknown = list(s.unknown(KNOWN))
    return SparkDependencies(path=doc.path, configuration=configuration,
                             repositories=tuple(u.strip() for u in repositories),
                             packages=_packages(s, unknown), unknown_keys=tuple(unknown))


def _packages(s: Section, unknown: list[str]) -> tuple[SparkPackage, ...]:
    node = s.get("packages")
    if node is None:
        return ()
    if not isinstance(node, list):
        raise s.wrong("packages", "a list of packages, each with group, artifact and version")
    packages = []
    for index, item in enumerate(node):
        label = f"packages[{index}]"
        if not isinstance(item, dict):
            from launchdeck.core.config.yamlio import describe

            raw = s.doc.source_text(node, index) if not isinstance(item, list) else None
            raise s.doc.error(f"{label} must be a map with group, artifact and version, got "
                              f"{describe(item, raw)}", node, index, field=label)
        entry = Section(s.doc, item, f"{label}.")
        values = []
        for key in _PACKAGE_KEYS:
            if item.get(key) is None:
                raise _missing(s, node, index, entry, key)
            # A version written 1.0 loads as a number; the text as written is what was meant.
            text = entry.scalar_text(item, key, entry.name(key))
            if isinstance(item[key], bool) or not text.strip() or any(c in text for c in ":,"):
                raise entry.wrong(key, "a Maven coordinate part (text without : or ,)")
            values.append(text.strip())
        unknown += entry.unknown(_PACKAGE_KEYS)
        packages.append(SparkPackage(*values))
    return tuple(packages)


def _missing(s: Section, node: Any, index: int, entry: Section, key: str) -> Exception:
    message = f"{entry.name(key)} is required (every package needs group, artifact and version)"
    if key in node[index]:
        return entry.fail(key, message)
    near = [k for k in node[index] if isinstance(k, str) and k.lower().startswith(key[:3])]
    if near:
        message += f"; did you mean {key} instead of {near[0]}?"
    return s.doc.error(message, node, index, field=entry.name(key))


def spark_for_run(run: "RunConfiguration",
                  project_dir: str | os.PathLike[str] | None = None) -> SparkDependencies | None:
    """The Spark file a run uses; None when it uses the default file and that does not exist."""
    path = run.dependency_file("SparkDependenciesFile", project_dir)
    return load_spark(path) if path is not None else None
