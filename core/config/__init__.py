"""The project's config files (``aml_config/``): load, validate, edit in place.

Modules: ``yamlio`` (round-trip documents), ``compute``, ``runconfig``, ``conda``, ``spark``,
``secrets``; private helpers ``_yamltext`` (in-place edits), ``_yamlrender`` (text for new
values), ``_section`` (typed reads), ``_atomicfile``.

Rules every loader follows:

- A wrong value is a ``ConfigError`` whose ``str()`` is ``file:line:column: message``; ``file``
  is relative to the current folder when inside it, else absolute.
- Scalars that YAML reads as numbers, booleans or dates keep the text as written wherever the
  model wants text (``LEARNING_RATE: 0.010`` is ``"0.010"``, ``- 007`` is ``"007"``).
- A null where text is required (``FOO:`` in EnvironmentVariables) is an error, not ``""``.
- Edits rewrite only the entry they change and re-parse the result; comments are never deleted.
  New text values are quoted whenever YAML 1.1 or 1.2 would read them as something else.

Names below are imported lazily so that importing one module does not pay for all.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "YamlDocument": "yamlio", "load_document": "yamlio", "new_document": "yamlio",
    "ComputeConfig": "compute", "TargetType": "compute", "load_compute": "compute",
    "write_compute": "compute", "compute_path": "compute",
    "RunConfiguration": "runconfig", "load_runconfig": "runconfig", "set_env": "runconfig",
    "unset_env": "runconfig", "set_field": "runconfig", "create_runconfig": "runconfig",
    "CondaDependencies": "conda", "load_conda": "conda", "conda_for_run": "conda",
    "SparkDependencies": "spark", "SparkPackage": "spark", "load_spark": "spark",
    "spark_for_run": "spark",
    "resolve_password": "secrets", "check_secrets": "secrets", "ResolvedPassword": "secrets",
    "PasswordSource": "secrets",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
