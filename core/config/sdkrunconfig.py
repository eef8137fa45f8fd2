"""Run configurations in the later (2018 SDK) format: lowercase keys, ``environment:`` maps.

Projects moved from Workbench to the early Azure ML SDK have ``.runconfig`` files such as::

    script: train.py
    arguments: [--epochs, '3']
    target: local
    framework: PySpark
    environment:
      environmentVariables: {EXAMPLE: value}
      python: {condaDependenciesFile: aml_config/conda_dependencies.yml}

Deck reads what it can honour (target, arguments, framework, the environment variables, the
conda file) and names every other key that is set to something other than the SDK's default as
not supported, saying what happens instead. What would change how a run works and cannot be
honoured (another framework, several nodes) is refused. A file never runs half-read: before
this, ``framework: PySpark`` ran as Python and the variables were dropped.
"""

from __future__ import annotations

from typing import Any, Callable

from launchdeck.core.config._section import Section
from launchdeck.core.config.framework import Framework
from launchdeck.core.config.yamlio import YamlDocument

#: Top-level keys that only the SDK format has (any one marks a file as such).
SDK_MARKERS = ("script", "arguments", "target", "framework", "communicator", "environment",
               "history", "nodeCount", "maxRunDurationSeconds", "dataReferences")

#: Dotted key -> value the SDK writes by default (such keys are not worth a warning).
_DEFAULTS: dict[str, Any] = {
    "communicator": "None", "nodeCount": 1, "history.outputCollection": True,
    "history.snapshotProject": True, "history.directoriesToWatch": ["logs"],
    "tensorflow.workerCount": 1, "tensorflow.parameterServerCount": 1,
    "mpi.processCountPerNode": 1, "hdi.yarnDeployMode": "Cluster",
    "environment.docker.enabled": False, "environment.docker.gpuSupport": False,
    "environment.docker.shmSize": "1g", "environment.docker.sharedVolumes": True,
    "environment.python.interpreterPath": "python", "environment.spark.precachePackages": True,
    "environment.name": None, "environment.version": None,
}
#: Keys whose value, whatever it is, deck has nothing to do with and nothing to say about.
_NO_MEANING = ("environment.docker.baseImage", "environment.docker.baseImageRegistry",
               "environment.name", "environment.version", "amlcompute", "containerInstance",
               "sourceDirectoryDataStore", "data")
_READ = ("script", "arguments", "target", "framework", "environment.environmentVariables",
         "environment.python.condaDependenciesFile",
         "environment.python.userManagedDependencies", "autoPrepareEnvironment")

#: What happens instead, for keys users set on purpose.
INSTEAD = {
    "environment.docker": "the run goes where target's .compute says (a docker target runs in "
                          "a container)",
    "environment.python.interpreterPath": "the target's pythonLocation picks the interpreter",
    "environment.spark": "Spark packages come from aml_config/spark_dependencies.yml",
    "spark": "Spark settings come from aml_config/spark_dependencies.yml",
    "history": "deck always records the run and collects ./outputs/",
    "dataReferences": "nothing is mounted or downloaded; the script reads data from paths it "
                      "can reach",
    "maxRunDurationSeconds": "the run is not stopped after a time; use deck cancel",
}


def is_sdk_format(data: Any) -> bool:
    return isinstance(data, dict) and any(k in data for k in SDK_MARKERS)


def refuse_mixed(doc: YamlDocument, workbench_keys) -> None:
    both = [k for k in doc.data if k in workbench_keys]
    if both:
        sdk = [k for k in doc.data if k in SDK_MARKERS]
        raise doc.error(f"mixes Workbench keys ({', '.join(both)}) with keys of the 2018 SDK "
                        f"format ({', '.join(sdk)}); deck cannot tell which to follow: keep "
                        "one format", doc.data, sdk[0], part="key", field=sdk[0])


def runconfig_from_sdk(doc: YamlDocument, make: Callable[..., Any], environment_of,
                       dependency_path) -> Any:
    s = Section(doc, doc.data)
    target = s.text("target", expected="the name of a compute target",
                    required="the name of a compute target in aml_config/, such as local")
    if any(c in target for c in "/\\\0") or target in (".", ".."):
        raise s.fail("target", f"target {target!r} is not a compute target name")
    framework = Framework.PYTHON
    raw = s.get("framework")
    if raw is not None:
        matches = [f for f in Framework if isinstance(raw, str)
                   and f.value.lower() == raw.strip().lower()]
        if not matches:
            raise s.fail("framework", f"framework {raw!r} is not supported by deck (it runs "
                         "Python and PySpark scripts); the run cannot go as this file asks")
        framework = matches[0]
    nodes = s.get("nodeCount")
    if nodes not in (None, 1) and not (isinstance(nodes, int) and nodes <= 1):
        raise s.fail("nodeCount", f"nodeCount {nodes} asks for a distributed run, which deck "
                     "does not do (a run is one process, or one Spark application)")
    arguments = s.text_list("arguments", item="an argument")
    env_node = s.get("environment")
    env: dict[str, str] = {}
    conda = None
    user_managed = None
    if env_node is not None:
        if not isinstance(env_node, dict):
            raise s.wrong("environment", "a map (environmentVariables:, python:, ...)")
        env_section = Section(doc, env_node, "environment.")
        env = environment_of(env_section, "environmentVariables")
        python = env_node.get("python")
        if isinstance(python, dict):
            python_section = Section(doc, python, "environment.python.")
            conda = dependency_path(python_section, "condaDependenciesFile",
                                    "aml_config/conda_dependencies.yml")
            if python.get("userManagedDependencies") is not None:
                user_managed = python_section.boolean("userManagedDependencies", False)
        elif python is not None:
            raise env_section.wrong("python", "a map (condaDependenciesFile:, ...)")
    script = s.text("script", expected="the script's path")
    # The SDK built a run's environment on submit unless told not to; Workbench files say so
    # with PrepareEnvironment, these with autoPrepareEnvironment (absent: prepare).
    prepare = s.boolean("autoPrepareEnvironment", True)
    return make(name=doc.path.stem, path=doc.path, argument_vector=("$file", *arguments),
                target=target, environment_variables=env, framework=framework,
                conda_dependencies_file=conda, spark_dependencies_file=None,
                prepare_environment=prepare, tracked_run=True,
                unknown_keys=tuple(_not_read(doc.data)), file_format="sdk2018", script=script,
                user_managed_environment=user_managed)


def _not_read(data: dict, prefix: str = "") -> list[str]:
    """Dotted paths of keys set to something deck does not read (SDK defaults left out)."""
    out = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if path in _READ or path in _NO_MEANING or _is_default(path, value):
            continue
        if isinstance(value, dict) and path not in ("spark.configuration",):
            out += _not_read(value, path + ".")
        else:
            out.append(path)
    return out


def _is_default(path: str, value: Any) -> bool:
    if value is None or value == "" or value == [] or value == {}:
        return True
    if path in _DEFAULTS:
        default = _DEFAULTS[path]
        if isinstance(default, str) and isinstance(value, str):
            return default.lower() == value.lower()
        if isinstance(default, list):
            return isinstance(value, list) and list(value) == default
        return value == default and type(value) is type(default)
    return False


def instead(path: str) -> str:
    """What happens instead of ``path`` (the most specific note of its parents)."""
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        note = INSTEAD.get(".".join(parts[:n]))
        if note:
            return note
    return "it is ignored"

