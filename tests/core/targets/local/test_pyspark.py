"""PySpark on the local target with pip's ``spark-submit`` wrapper, as users install it.

The shared venv has pyspark, so its ``bin/spark-submit`` is pip's wrapper. It is run from an
environment whose ``python3`` (first on PATH) is not that venv's, as a user's shell would be:
without deck's SPARK_HOME the wrapper fails with ``/bin/spark-class: No such file or directory``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.projects import run_id_of
from tests.fixtures.waiting import LOCAL_SPARK_JOB_TIMEOUT

WRAPPER = Path(sys.prefix) / "bin" / "spark-submit"
#: A PATH whose python3 is the system's, which has no pyspark.
USER_PATH = "/usr/local/bin:/usr/bin:/bin"

JOB = """\
import os
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("count:", spark.sparkContext.parallelize(range(10), 2).count())
print("master:", spark.sparkContext.master)
spark.stop()
"""

RUNCONFIG = """\
ArgumentVector: [$file]
Target: wrapped
Framework: PySpark
PrepareEnvironment: false
"""


def _pyspark_missing_on(path: str) -> bool:
    python3 = shutil.which("python3", path=path)
    return python3 is not None and subprocess.run(
        [python3, "-c", "import pyspark"], capture_output=True).returncode != 0


@pytest.fixture
def user_deck(deck, project):
    """deck run from a shell whose python3 has no pyspark and with no SPARK_HOME set."""
    if not WRAPPER.is_file() or not (WRAPPER.parent / "find_spark_home.py").is_file():
        pytest.fail(f"{WRAPPER} is not pip's spark-submit wrapper: is pyspark installed?")
    assert _pyspark_missing_on(USER_PATH), "the test needs a python3 without pyspark"
    deck.env["PATH"] = USER_PATH
    deck.env.pop("SPARK_HOME", None)
    deck.env.pop("PYSPARK_PYTHON", None)
    deck.env.pop("PYSPARK_DRIVER_PYTHON", None)
    return deck


#: A local Spark job's JVM at deck's default niceness (10) crawls beside a CPU hog (five minutes
#: and more on a loaded CI machine); these tests are about finding spark-submit, not about
#: niceness (tests/cli/test_submit.py is), so their runs get their fair share.
UNNICED = "niceness: 0\n"


def _compute(project: Path, spark_submit: str) -> None:
    (project / "aml_config" / "wrapped.compute").write_text(
        f"type: local\nsparkSubmitLocation: {spark_submit}\n{UNNICED}")


def test_pips_wrapper_fails_alone_from_a_users_shell(tmp_path):
    """The defect deck works around: the wrapper alone cannot find Spark from such a shell."""
    (tmp_path / "job.py").write_text("print('never')\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("SPARK_HOME", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    env["PATH"] = USER_PATH
    result = subprocess.run([str(WRAPPER), "--master", "local[1]", "job.py"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 127 and "/bin/spark-class" in result.stderr


def test_a_pyspark_run_with_sparksubmitlocation_at_pips_wrapper_completes(user_deck, project):
    _compute(project, str(WRAPPER))
    (project / "aml_config" / "wrapped.runconfig").write_text(RUNCONFIG)
    (project / "job.py").write_text(JOB)
    result = user_deck("submit", "-c", "wrapped", "job.py", timeout=LOCAL_SPARK_JOB_TIMEOUT)
    assert result.returncode == 0, result.out[-3000:] + result.err
    assert "count: 10" in result.out and "master: local[*]" in result.out
    assert "spark-class: No such file" not in result.out
    assert user_deck.json("runs", "show", run_id_of(result.out))["status"] == "Completed"

    check = user_deck("target", "check", "wrapped", timeout=180, check=True)
    assert f"spark_submit: {WRAPPER}" in check.out
    assert "spark_home: " in check.out and "set by deck for pip's wrapper" in check.out
    assert "spark_version: 4." in check.out or "spark_version: 3." in check.out


def test_check_names_why_spark_submit_cannot_run(user_deck, project, tmp_path):
    # Not there at all.
    _compute(project, str(tmp_path / "nowhere" / "spark-submit"))
    result = user_deck("target", "check", "wrapped")
    assert result.returncode != 0 and "does not exist" in result.err, result.err

    # There, but not executable.
    plain = tmp_path / "plain" / "spark-submit"
    plain.parent.mkdir()
    shutil.copy(WRAPPER, plain)
    plain.chmod(0o644)
    _compute(project, str(plain))
    result = user_deck("target", "check", "wrapped")
    assert result.returncode != 0 and "is not executable" in result.err, result.err

    # pip's wrapper in an environment without the pyspark package: SPARK_HOME is the cure.
    lonely = tmp_path / "venv" / "bin"
    lonely.mkdir(parents=True)
    for name in ("spark-submit", "find-spark-home", "find_spark_home.py"):
        shutil.copy(WRAPPER.parent / name, lonely / name)
    _compute(project, str(lonely / "spark-submit"))
    result = user_deck("target", "check", "wrapped")
    assert result.returncode != 0, result.out
    assert "no pyspark package was found" in result.err and "set SPARK_HOME" in result.err

    # Java missing: JAVA_HOME pointing nowhere.
    _compute(project, str(WRAPPER))
    user_deck.env["JAVA_HOME"] = str(tmp_path / "no-jdk")
    result = user_deck("target", "check", "wrapped")
    assert result.returncode != 0 and "has no bin/java" in result.err, result.err
    assert "JAVA_HOME" in result.err


def test_spark_home_of_pips_wrapper_and_of_a_distribution(tmp_path):
    from launchdeck.core.targets.spark.submit import find_spark_home

    home = find_spark_home(str(WRAPPER))
    assert home and (Path(home) / "jars").is_dir() and (Path(home) / "bin/spark-class").is_file()
    # $SPARK_HOME/bin/spark-submit finds its own home: deck adds nothing.
    assert find_spark_home(str(Path(home) / "bin" / "spark-submit")) is None
    # A link to the wrapper (as in ~/bin) leads to the wrapper's environment.
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "spark-submit").symlink_to(WRAPPER)
    assert find_spark_home(str(tmp_path / "bin" / "spark-submit")) == home


def _venv_without_pyspark(folder: Path) -> Path:
    """A venv with deck and what it needs, but no pyspark: where a user installs deck.

    Its site-packages links to every entry of the test venv's but pyspark's.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    ours = Path(next(p for p in sys.path if p.endswith("site-packages")
                     and p.startswith(sys.prefix)))
    theirs = folder / ours.relative_to(sys.prefix)
    for entry in ours.iterdir():
        if not entry.name.lower().startswith("pyspark"):
            (theirs / entry.name).symlink_to(entry)
    python = folder / "bin" / "python"
    assert subprocess.run([python, "-c", "import launchdeck.cli.main"]).returncode == 0
    assert subprocess.run([python, "-c", "import pyspark"], capture_output=True).returncode != 0
    return python


def test_a_pyspark_run_finds_spark_submit_on_path_when_decks_python_has_no_pyspark(
        user_deck, project, tmp_path):
    """deck in a venv without pyspark; another venv with pyspark has its bin/ on PATH."""
    from launchdeck.core.targets.spark.submit import find_spark_home

    python = _venv_without_pyspark(tmp_path / "deck-venv")
    user_deck.argv = lambda *args: [str(python), "-m", "launchdeck.cli.main", *args]
    user_deck.env["PATH"] = f"{WRAPPER.parent}:{USER_PATH}"
    (project / "aml_config" / "wrapped.compute").write_text("type: local\n" + UNNICED)
    (project / "aml_config" / "wrapped.runconfig").write_text(RUNCONFIG)
    (project / "job.py").write_text(JOB + "print('spark home:', os.environ['SPARK_HOME'])\n")
    result = user_deck("submit", "-c", "wrapped", "job.py", timeout=LOCAL_SPARK_JOB_TIMEOUT)
    assert result.returncode == 0, result.out[-3000:] + result.err
    assert "count: 10" in result.out and "master: local[*]" in result.out
    assert f"spark home: {find_spark_home(str(WRAPPER))}" in result.out
    assert user_deck.json("runs", "show", run_id_of(result.out))["status"] == "Completed"

    check = user_deck("target", "check", "wrapped", timeout=180, check=True)
    assert f"spark_submit: {WRAPPER}\n" in check.out  # the one on PATH


def test_the_head_node_shell_finds_spark_home_for_the_wrapper_on_path(tmp_path):
    """``spark-submit`` on PATH being pip's wrapper (through a link in a folder of PATH)."""
    from launchdeck.core.targets.spark.submit import find_spark_home, with_spark_home

    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "spark-submit").symlink_to(WRAPPER)
    (tmp_path / "job.py").write_text("print('ran with', __import__('os').environ['SPARK_HOME'])\n")
    env = {"PATH": f"{tmp_path / 'bin'}:{USER_PATH}", "HOME": str(tmp_path)}
    result = subprocess.run(with_spark_home(["spark-submit", "--master", "local[1]", "job.py"]),
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"ran with {find_spark_home(str(WRAPPER))}" in result.stdout
    # ``~/`` in sparkSubmitLocation is the home of the head node's user.
    (tmp_path / "bin" / "show").write_text('#!/bin/sh\necho "ran $0 $*"\n')
    (tmp_path / "bin" / "show").chmod(0o755)
    result = subprocess.run(with_spark_home(["~/bin/show", "x"]), env=env, capture_output=True,
                            text=True)
    assert result.stdout == f"ran {tmp_path}/bin/show x\n", result.stderr
    # A SPARK_HOME already set is kept.
    result = subprocess.run(["sh", "-c", with_spark_home(["true"])[2] + "\n", "sh", "env"],
                            env=dict(env, SPARK_HOME="/opt/mine"), capture_output=True,
                            text=True)
    assert "SPARK_HOME=/opt/mine" in result.stdout
