"""How a run configuration's script runs: the ``Framework`` field of a ``.runconfig``."""

from __future__ import annotations

from enum import StrEnum


class Framework(StrEnum):
    PYTHON = "Python"    #: the script runs under the target's Python interpreter
    PYSPARK = "PySpark"  #: the script is handed to spark-submit
