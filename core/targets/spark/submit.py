"""The spark-submit command line of a run, and which master and deploy mode it means.

Deploy mode: on YARN, ``yarnDeployMode`` keeps Workbench's meaning (``client``: the driver runs
on the head node; ``cluster``: in a YARN container). On a standalone master (``spark://``),
``local[...]`` or Kubernetes, a Python application always runs in client mode (Spark's
standalone cluster deploy mode does not accept Python applications), so the driver runs on the
head node and ``yarnDeployMode`` is ignored with a note.

Order of ``--conf`` pairs: the run's own settings (``spark_dependencies.yml``) come last, so a
user setting wins over one deck adds (spark-submit keeps the last of repeated keys).

Settings that must be on no command line (YARN cluster mode's ``spark.yarn.appMasterEnv.*``,
which carry the run's variables and so its secrets, as the driver's environment): spark-submit
reads them from a ``--properties-file``. That option replaces the head node's
``spark-defaults.conf``, so ``WITH_SPARK_HOME_SH`` writes the file (0600) as that file's text
followed by deck's settings, which the runner on the host delivered in a 0600 file and removes,
with the composed one, once the run has ended.

SPARK_HOME of pip's wrapper: ``pip install pyspark`` puts a ``bin/spark-submit`` wrapper in the
environment's ``bin/`` that finds Spark by running ``find_spark_home.py`` with the ``python3``
on PATH (or ``PYSPARK_PYTHON``), which is rarely that environment's own Python when deck starts
it; it then runs ``/bin/spark-class`` and fails with exit 127. So when SPARK_HOME is not set and
spark-submit is such a wrapper (``find_spark_home.py`` beside it), deck sets SPARK_HOME to the
``pyspark`` package of the environment the wrapper belongs to
(``<env>/lib/python*/site-packages/pyspark``, else what that environment's Python imports).
``find_spark_home`` does this here, ``SPARK_HOME_SH`` on a head node.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from launchdeck.core.config.spark import SparkDependencies

#: The master of PySpark runs on one machine (local target, Docker container): every core.
LOCAL_MASTER = "local[*]"

#: A Spark application id in driver output: standalone, YARN, local mode.
APP_ID = re.compile(rb"\b(app-\d{14}-\d{4,}|application_\d+_\d+|local-\d{10,})\b")


def deploy_mode(master: str | None, yarn_deploy_mode: str | None) -> str:
    """``client`` or ``cluster``: where the driver of a Python application runs."""
    if master and master.strip().lower().startswith("yarn"):
        return yarn_deploy_mode or "client"
    return "client"


def mode_note(master: str | None, yarn_deploy_mode: str | None) -> str | None:
    """A line for the user when ``yarnDeployMode`` cannot apply to this master."""
    if yarn_deploy_mode and not (master or "").lower().startswith("yarn"):
        return (f"note: yarnDeployMode {yarn_deploy_mode} applies to YARN only; on master "
                f"{master or '(the cluster default)'} Python applications run in client mode")
    return None


@dataclass(frozen=True, kw_only=True)
class SubmitCommand:
    """Everything that goes on one spark-submit command line."""

    spark_submit: str
    script: str
    arguments: tuple[str, ...] = ()
    master: str | None = None
    deploy_mode: str = "client"
    name: str | None = None
    py_files: tuple[str, ...] = ()
    #: ``archive#alias`` entries for ``--archives`` (the executors' Python environment).
    archives: tuple[str, ...] = ()
    #: Settings deck adds (Python interpreters, executor environment).
    conf: dict[str, str] = field(default_factory=dict)
    #: Settings that go in the properties file, never on the command line (see above).
    private_conf: dict[str, str] = field(default_factory=dict)
    dependencies: "SparkDependencies | None" = None

    def argv(self) -> list[str]:
        args = [self.spark_submit]
        if self.master:
            args += ["--master", self.master]
        if self.master and self.master.lower().startswith("yarn"):
            args += ["--deploy-mode", self.deploy_mode]
        if self.name:
            args += ["--name", self.name]
        if self.py_files:
            args += ["--py-files", ",".join(self.py_files)]
        if self.archives:
            args += ["--archives", ",".join(self.archives)]
        for key, value in self.conf.items():
            args += ["--conf", f"{key}={value}"]
        if self.dependencies is not None:
            args += self.dependencies.submit_arguments()
        return [*args, self.script, *self.arguments]


def properties_text(conf: dict[str, str]) -> str:
    """``conf`` in Java's properties format (as Spark reads a ``--properties-file``, UTF-8)."""
    def escape(text: str, key: bool) -> str:
        out = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r") \
            .replace("\t", "\\t").replace("\f", "\\f")
        if key:
            for char in "=: #!":
                out = out.replace(char, "\\" + char)
        elif out[:1] in (" ", "#", "!"):
            out = "\\" + out  # a value's leading space (or a comment sign) is kept
        return out

    return "".join(f"{escape(k, True)}={escape(v, False)}\n" for k, v in conf.items())


def find_app_id(data: bytes) -> str | None:
    """The first Spark application id in driver output, if any."""
    found = APP_ID.search(data)
    return found.group(1).decode() if found else None


def is_pip_wrapper(spark_submit: str) -> bool:
    """True for the ``spark-submit`` that ``pip install pyspark`` puts in an environment's bin/."""
    folder = os.path.dirname(os.path.realpath(spark_submit))
    return os.path.isfile(os.path.join(folder, "find_spark_home.py"))


def _is_spark_home(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "bin", "spark-submit")) and \
        os.path.isdir(os.path.join(path, "jars"))


def find_spark_home(spark_submit: str) -> str | None:
    """SPARK_HOME for pip's wrapper ``spark_submit``; None when it needs none or none is found.

    A spark-submit of a Spark distribution (``$SPARK_HOME/bin/spark-submit``) finds its home
    by its own path and gets None.
    """
    if not is_pip_wrapper(spark_submit):
        return None
    bin_dir = os.path.dirname(os.path.realpath(spark_submit))
    prefix = os.path.dirname(bin_dir)
    for lib in ("lib", "lib64"):
        for home in sorted(glob.glob(os.path.join(prefix, lib, "python*", "site-packages",
                                                  "pyspark")), reverse=True):
            if _is_spark_home(home):
                return home
    for name in ("python3", "python"):  # a layout of its own (conda, a distribution's)
        python = os.path.join(bin_dir, name)
        if not os.access(python, os.X_OK):
            continue
        try:
            found = subprocess.run(
                [python, "-c", "import os, pyspark; print(os.path.dirname(pyspark.__file__))"],
                capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            continue
        home = found.stdout.strip()
        if found.returncode == 0 and _is_spark_home(home):
            return home
    return None


#: ``deck_spark_home SPARK_SUBMIT``: the shell twin of ``find_spark_home``, for head nodes.
SPARK_HOME_SH = r'''deck_spark_home() {
  case $1 in */*) _s=$1 ;; *) _s=$(command -v "$1") || return 0 ;; esac
  _s=$(readlink -f "$_s" 2>/dev/null || printf %s "$_s"); _b=$(dirname "$_s")
  [ -f "$_b/find_spark_home.py" ] || return 0
  for _h in "$_b"/../lib/python*/site-packages/pyspark "$_b"/../lib64/python*/site-packages/pyspark; do
    if [ -f "$_h/bin/spark-submit" ] && [ -d "$_h/jars" ]; then (cd "$_h" && pwd -P); return 0; fi
  done
  for _p in "$_b/python3" "$_b/python"; do
    [ -x "$_p" ] || continue
    _h=$("$_p" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))' 2>/dev/null) || continue
    if [ -f "$_h/bin/spark-submit" ] && [ -d "$_h/jars" ]; then printf '%s\n' "$_h"; return 0; fi
  done
  return 0
}'''

#: ``sh -c WITH_SPARK_HOME_SH sh SPARK_SUBMIT ARGS...``: runs spark-submit (``~/`` is the
#: home there) with SPARK_HOME set for pip's wrapper when it is not set already. ``exec``
#: keeps the pid: the process deck started is spark-submit itself.
WITH_SPARK_HOME_SH = SPARK_HOME_SH + r'''
case $1 in "~/"*) _x=$HOME/${1#"~/"}; shift; set -- "$_x" "$@" ;; esac
if [ -z "$SPARK_HOME" ]; then
  _home=$(deck_spark_home "$1")
  [ -n "$_home" ] && export SPARK_HOME="$_home"
fi
if [ -n "$DECK_SPARK_PRIVATE" ]; then
  # spark-submit's own defaults file first (as it finds it), then deck's settings.
  _home=$SPARK_HOME
  if [ -z "$_home" ]; then
    case $1 in */*) _s=$1 ;; *) _s=$(command -v "$1") ;; esac
    _home=$(dirname "$(dirname "$(readlink -f "$_s" 2>/dev/null || printf %s "$_s")")")
  fi
  _defaults=${SPARK_CONF_DIR:-$_home/conf}/spark-defaults.conf
  _props=${DECK_SPARK_PRIVATE%.private}.properties
  (umask 077 && { if [ -f "$_defaults" ]; then cat "$_defaults" && echo; fi
                  cat "$DECK_SPARK_PRIVATE"; } > "$_props") || exit 126
  unset DECK_SPARK_PRIVATE
  _s=$1; shift; set -- "$_s" --properties-file "$_props" "$@"
fi
exec "$@"'''


def with_spark_home(argv: list[str]) -> list[str]:
    """``argv`` (spark-submit first) run through ``WITH_SPARK_HOME_SH`` (on a head node)."""
    return ["sh", "-c", WITH_SPARK_HOME_SH, "sh", *argv]
