"""``aml_config/<name>.runconfig`` files as ``RunConfiguration``, and in-place edits of them.

Every edit loads the file, changes the one entry in place, validates the whole result and only
then saves it atomically: on any error nothing is written.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from launchdeck.core.config._section import Section
from launchdeck.core.config.framework import Framework
from launchdeck.core.errors import ConfigError

# yamlio is imported where a file is read or written (see core.config._section).
if TYPE_CHECKING:
    from launchdeck.core.config.yamlio import YamlDocument

DEFAULT_CONDA_FILE = "aml_config/conda_dependencies.yml"
DEFAULT_SPARK_FILE = "aml_config/spark_dependencies.yml"
ENV = "EnvironmentVariables"

#: File key -> (field name, what the comment written by ``create_runconfig`` says).
KEYS: dict[str, tuple[str, str]] = {
    "ArgumentVector": ("argument_vector", "The arguments of the run; $file stands for the script "
                       "being submitted"),
    "Target": ("target", "The compute target: the name of a .compute file in aml_config/"),
    ENV: ("environment_variables", "Environment variables set for the run"),
    "Framework": ("framework", 'How the script runs: "Python" or "PySpark"'),
    "CondaDependenciesFile": ("conda_dependencies_file", "The conda environment file, relative "
                              f"to the project (null: {DEFAULT_CONDA_FILE})"),
    "SparkDependenciesFile": ("spark_dependencies_file", "The Spark dependencies file, relative "
                              f"to the project (null: {DEFAULT_SPARK_FILE})"),
    "PrepareEnvironment": ("prepare_environment", "Whether to build the run's environment as "
                           "part of the run"),
    "TrackedRun": ("tracked_run", "Whether to record the run in the run history"),
}
_BY_FIELD = {name: key for key, (name, _) in KEYS.items()}


@dataclass(frozen=True, kw_only=True)
class RunConfiguration:
    """One run configuration as written in its ``.runconfig`` file."""

    name: str
    path: Path
    argument_vector: tuple[str, ...] = ("$file",)
    target: str
    environment_variables: dict[str, str] = field(default_factory=dict)
    framework: Framework = Framework.PYTHON
    conda_dependencies_file: str | None = None   # None: the default file
    spark_dependencies_file: str | None = None   # None: the default file
    prepare_environment: bool = False
    tracked_run: bool = True
    unknown_keys: tuple[str, ...] = ()
    #: "workbench" (``Target``, ``ArgumentVector``...) or "sdk2018" (``target``, ``arguments``,
    #: ``environment:``...); in the latter, ``unknown_keys`` are dotted paths deck did not read.
    file_format: str = "workbench"
    #: sdk2018 only: the ``script`` the file names (deck runs the one given to ``deck submit``).
    script: str | None = None
    #: sdk2018 only: ``environment.python.userManagedDependencies``; None lets the target's
    #: ``userManagedEnvironment`` decide, a bool overrides it for runs of this configuration.
    user_managed_environment: bool | None = None

    def _project(self, project_dir: str | os.PathLike[str] | None) -> Path:
        return Path(project_dir) if project_dir is not None else self.path.parent.parent

    def resolved_conda_path(self, project_dir: str | os.PathLike[str] | None = None) -> Path:
        """The conda file this run uses (``project_dir`` defaults to the folder of aml_config/)."""
        return self._project(project_dir) / (self.conda_dependencies_file or DEFAULT_CONDA_FILE)

    def resolved_spark_path(self, project_dir: str | os.PathLike[str] | None = None) -> Path:
        return self._project(project_dir) / (self.spark_dependencies_file or DEFAULT_SPARK_FILE)

    def dependency_file(self, key: str,
                        project_dir: str | os.PathLike[str] | None = None) -> Path | None:
        """The file ``key`` (``CondaDependenciesFile``, ``SparkDependenciesFile``) names; None
        when the key is null and the default file does not exist. A file the runconfig names
        must exist: its absence is an error at the field."""
        named = getattr(self, KEYS[key][0])
        path = (self.resolved_conda_path(project_dir) if key == "CondaDependenciesFile"
                else self.resolved_spark_path(project_dir))
        if path.is_file():
            return path
        if named is None:
            return None
        raise self.field_error(key, f"{key}: {named} does not exist in the project")

    def field_error(self, key: str, message: str) -> ConfigError:
        """A ConfigError at the position of ``key`` in this file (found again: error path only)."""
        from launchdeck.core.config.yamlio import load_document

        try:
            doc = load_document(self.path)
            return doc.error(message, doc.data if key in doc.data else None, key, field=key)
        except ConfigError:
            return ConfigError(message, file=str(self.path), field=key)


# -- checks shared by loading and editing ---------------------------------------------------------

def env_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an environment variable name, or None."""
    if not name:
        return "it is empty"
    if "=" in name:
        return 'names cannot contain "="'
    if "\0" in name:
        return "names cannot contain a NUL character"
    bad = next((c for c in name if c.isspace() or not c.isprintable()), None)
    if bad is not None:
        # A shell, `docker run -e` and `env` all split or mangle such a name.
        return f"names cannot contain {'a space' if bad == ' ' else repr(bad)}"
    return None


#: Linux refuses to start a process with one NAME=value longer than this (MAX_ARG_STRLEN).
MAX_ENV_ENTRY = 128 * 1024 - 1
#: ... or with all of them together near ARG_MAX; keep well clear of it (argv needs room too).
MAX_ENV_TOTAL = 1024 * 1024


def environment_problem(env: Mapping[str, str]) -> str | None:
    """Why ``env`` (the run's own variables, secrets resolved) cannot be given to a process."""
    total = 0
    for name, value in env.items():
        problem = env_name_problem(name)
        if problem:
            return f"{name!r} is not a valid environment variable name ({problem})"
        if "\0" in value:
            return f"the value of {name} contains a NUL character, which no environment " \
                   "variable can hold"
        try:
            size = len(os.fsencode(name)) + 1 + len(os.fsencode(value))
        except UnicodeError:
            return f"the value of {name} holds text that cannot be encoded for a process"
        if size > MAX_ENV_ENTRY:
            return (f"{name} is {size:,} bytes with its value; a process cannot be given a "
                    f"variable over {MAX_ENV_ENTRY:,} bytes (put it in a file instead)")
        total += size + 1
    if total > MAX_ENV_TOTAL:
        return (f"the environment variables take {total:,} bytes; over {MAX_ENV_TOTAL:,} a "
                "process may not start (put large values in files instead)")
    return None


def project_path_problem(value: str) -> str | None:
    """Why ``value`` is not a relative path inside the project, or None."""
    if value.startswith(("/", "~")) or re.match(r"[A-Za-z]:", value):
        return "it is an absolute path"
    depth = 0
    for part in value.split("/"):
        depth += -1 if part == ".." else 0 if part in ("", ".") else 1
        if depth < 0:
            return "it leads outside the project (..)"
    return None


# -- loading ------------------------------------------------------------------------------------

def load_runconfig(path: str | os.PathLike[str]) -> RunConfiguration:
    from launchdeck.core.config.yamlio import load_document

    return runconfig_from_document(load_document(path))


def runconfig_from_document(doc: YamlDocument) -> RunConfiguration:
    from launchdeck.core.config import sdkrunconfig

    if sdkrunconfig.is_sdk_format(doc.data):
        sdkrunconfig.refuse_mixed(doc, KEYS)
        return sdkrunconfig.runconfig_from_sdk(doc, RunConfiguration, _environment_of,
                                               _dependency_path)
    s = Section(doc, doc.data)
    argv = (s.text_list("ArgumentVector", item="an argument")
            if s.get("ArgumentVector") is not None else ("$file",))
    target = s.text("Target", expected="the name of a compute target", known=KEYS,
                    required="the name of a compute target in aml_config/, such as local")
    if any(c in target for c in "/\\\0") or target in (".", ".."):
        raise s.fail("Target", f"Target {target!r} is not a compute target name")
    framework = s.get("Framework")
    if framework is not None:
        matches = [f for f in Framework if isinstance(framework, str)
                   and f.value.lower() == framework.strip().lower()]
        if not matches:
            raise s.wrong("Framework", " or ".join(f'"{f.value}"' for f in Framework))
        framework = matches[0]
    return RunConfiguration(
        name=doc.path.stem, path=doc.path, argument_vector=argv, target=target,
        environment_variables=_environment(s), framework=framework or Framework.PYTHON,
        conda_dependencies_file=_dependency_file(s, "CondaDependenciesFile", DEFAULT_CONDA_FILE),
        spark_dependencies_file=_dependency_file(s, "SparkDependenciesFile", DEFAULT_SPARK_FILE),
        prepare_environment=s.boolean("PrepareEnvironment", False),
        tracked_run=s.boolean("TrackedRun", True), unknown_keys=s.unknown(KEYS))


def _environment(s: Section) -> dict[str, str]:
    return _environment_of(s, ENV)


def _environment_of(s: Section, key: str) -> dict[str, str]:
    """The map of variables at ``key`` of ``s``, every name and value checked."""
    label = s.name(key)  # how messages name the map
    node = s.get(key)
    if node is None:
        return {}
    if not isinstance(node, dict):
        raise s.wrong(key, "a map of NAME: value")
    env = {}
    for name in node:
        if not isinstance(name, str):
            from launchdeck.core.config.yamlio import describe

            raise s.doc.error(f"{label}: a variable name must be text, got {describe(name)}; put "
                              "it in quotes", node, name, part="key", field=label)
        problem = env_name_problem(name)
        if problem:
            raise s.doc.error(f"{label}: {name!r} is not a valid environment variable name "
                              f"({problem})", node, name, part="key", field=label)
        value = s.scalar_text(node, name, f"{label}.{name}")
        if "\0" in value:
            raise s.doc.error(f"{label}.{name} contains a NUL character, which no environment "
                              "variable can hold", node, name, field=label)
        env[name] = value
    return env


def _dependency_file(s: Section, key: str, default: str) -> str | None:
    return _dependency_path(s, key, default)


def _dependency_path(s: Section, key: str, default: str) -> str | None:
    value = s.text(key, expected=f"a path relative to the project, or null for {default}")
    if value is None:
        return None
    value = value.strip().replace("\\", "/")  # Workbench ran on Windows too
    problem = project_path_problem(value)
    if problem:
        raise s.fail(key, f"{s.name(key)} must be a path inside the project, relative to it: "
                     f"{problem}")
    return value


# -- editing ------------------------------------------------------------------------------------

def set_env(path: str | os.PathLike[str], variables: Mapping[str, str]) -> RunConfiguration:
    """Set environment variables (adding or replacing), keeping every other byte of the file."""
    return edit_env(path, set_vars=variables).config


def unset_env(path: str | os.PathLike[str], names: Iterable[str]) -> RunConfiguration:
    """Remove environment variables; an unknown name is an error and nothing is written."""
    return edit_env(path, unset=names).config


@dataclass(frozen=True)
class EnvEdit:
    """What an edit did: the file as it now is, and whether it was written at all."""

    config: RunConfiguration
    written: bool


def edit_env(path: str | os.PathLike[str], *, set_vars: Mapping[str, str] | None = None,
             unset: Iterable[str] = ()) -> EnvEdit:
    """Set and/or remove environment variables under the file's lock (no edit is lost).

    The file is read after the lock is taken, so concurrent edits each see the others'.
    ``written`` is False when the file already said exactly this (nothing was written).
    """
    from launchdeck.core.config.yamlio import editing

    with editing(path) as doc:
        _check_env_input(doc, set_vars or {})
        keys, existing = _env_block(doc)  # a broken block is reported where it is
        names = list(dict.fromkeys(unset))
        missing = [n for n in names if n not in existing]
        if missing:
            raise ConfigError(f"no environment variable {', '.join(map(repr, missing))} here "
                              f"(set: {', '.join(existing) or 'none'}); nothing was written",
                              file=doc.display, field=ENV)
        for name in names:
            doc.delete((*keys, name))
        for name, value in (set_vars or {}).items():
            doc.set((*keys, name), value)
        return EnvEdit(*_save_valid(doc))


def _env_block(doc: YamlDocument) -> tuple[tuple[str, ...], dict[str, str]]:
    """Where the file keeps its variables (Workbench: EnvironmentVariables; the 2018 SDK
    format: environment.environmentVariables), and the variables there now."""
    from launchdeck.core.config import sdkrunconfig

    if not sdkrunconfig.is_sdk_format(doc.data):
        return (ENV,), _environment(Section(doc, doc.data))
    environment = doc.data.get("environment")
    if environment is not None and not isinstance(environment, dict):
        raise Section(doc, doc.data).wrong("environment", "a map (environmentVariables:, ...)")
    current = (_environment_of(Section(doc, environment, "environment."), "environmentVariables")
               if environment else {})
    return ("environment", "environmentVariables"), current


def set_field(path: str | os.PathLike[str], field_name: str, value: Any) -> RunConfiguration:
    """Set one field, by file key (``Target``) or field name (``target``); checked first."""
    from launchdeck.core.config.yamlio import editing

    key = field_name if field_name in KEYS else _BY_FIELD.get(field_name)
    with editing(path) as doc:
        if key is None:
            raise ConfigError(f"unknown run configuration field {field_name!r} (one of "
                              f"{', '.join(KEYS)})", file=doc.display)
        value = _check_field_input(doc, key, value)
        if key == ENV:
            current = _environment(Section(doc, doc.data))
            for name in current:
                if name not in value:
                    doc.delete((ENV, name))
            for name, text in value.items():
                if current.get(name) != text:
                    doc.set((ENV, name), text)
        else:
            doc.set(key, value)
        return _save_valid(doc)[0]


def create_runconfig(path: str | os.PathLike[str], *, target: str,
                     framework: Framework | str = Framework.PYTHON,
                     argument_vector: Iterable[str] = ("$file",),
                     environment_variables: Mapping[str, str] | None = None,
                     conda_dependencies_file: str | None = None,
                     spark_dependencies_file: str | None = None,
                     prepare_environment: bool = False, tracked_run: bool = True,
                     header_comment: str | None = None, force: bool = False) -> RunConfiguration:
    """Create a commented ``.runconfig`` file in Workbench's key order; refuses to overwrite."""
    path = Path(path)
    given = {"ArgumentVector": list(argument_vector), "Target": target,
             ENV: dict(environment_variables or {}), "Framework": framework,
             "CondaDependenciesFile": conda_dependencies_file,
             "SparkDependenciesFile": spark_dependencies_file,
             "PrepareEnvironment": prepare_environment, "TrackedRun": tracked_run}
    mapping = {key: _check_field_input(None, key, value, shown=str(path))
               for key, value in given.items()}
    from launchdeck.core.config.yamlio import new_document

    doc = new_document(path, mapping, header_comment or (
        f"Run configuration {path.stem} (written by deck; Azure ML Workbench compatible)"),
        key_comments={key: comment for key, (_, comment) in KEYS.items()})
    config = runconfig_from_document(doc)
    doc.save(force=force)
    return config


def _save_valid(doc: YamlDocument) -> tuple[RunConfiguration, bool]:
    config = runconfig_from_document(doc)  # the edited file must load, or nothing is written
    return config, doc.save()


def _check_env_input(doc: YamlDocument | None, variables: Mapping[str, Any],
                     shown: str | None = None) -> dict[str, str]:
    shown = doc.display if doc is not None else shown
    if not isinstance(variables, Mapping):
        raise ConfigError(f"{ENV} must be a map of NAME: value", file=shown, field=ENV)
    for name, value in variables.items():
        problem = env_name_problem(name) if isinstance(name, str) else "it is not text"
        if problem:
            raise ConfigError(f"{name!r} is not a valid environment variable name ({problem}); "
                              "nothing was written", file=shown, field=ENV)
        if not isinstance(value, str):
            from launchdeck.core.config.yamlio import describe

            raise ConfigError(f"the value of {name} must be text, got {describe(value)}; nothing "
                              "was written", file=shown, field=ENV)
        if "\0" in value:
            raise ConfigError(f"the value of {name} contains a NUL character, which no "
                              "environment variable can hold; nothing was written",
                              file=shown, field=ENV)
    return dict(variables)


def _check_field_input(doc: YamlDocument | None, key: str, value: Any,
                       shown: str | None = None) -> Any:
    """``value`` as it should be written under ``key``, or a ConfigError saying why not."""
    shown = doc.display if doc is not None else shown

    def bad(expected: str) -> ConfigError:
        from launchdeck.core.config.yamlio import describe

        return ConfigError(f"{key} must be {expected}, got {describe(value)}; nothing was "
                           "written", file=shown, field=key)

    if key == ENV:
        return _check_env_input(doc, value, shown)
    if key == "ArgumentVector":
        if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(
                isinstance(v, str) for v in value):
            raise bad("a list of text arguments")
        return list(value)
    if key == "Target":
        if not isinstance(value, str) or not value.strip() or value in (".", "..") or any(
                c in value for c in "/\\\0"):
            raise bad("the name of a compute target")
        return value
    if key == "Framework":
        for framework in Framework:
            if isinstance(value, str) and value.strip().lower() == framework.value.lower():
                return framework.value
        raise bad(" or ".join(f'"{f.value}"' for f in Framework))
    if key in ("CondaDependenciesFile", "SparkDependenciesFile"):
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip() or project_path_problem(
                value.replace("\\", "/")):
            problem = project_path_problem(value) if isinstance(value, str) else None
            raise bad("a path relative to the project, or None for the default"
                      + (f" ({problem})" if problem else ""))
        return value
    if not isinstance(value, bool):
        raise bad("true or false")
    return value
