"""PySpark through the `deck` command line: a cluster target end to end, and the local target."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.fixtures.projects import run_id_of

COUNT_JOB = """\
import argparse, os
from pyspark.sql import SparkSession
import deckrun

parser = argparse.ArgumentParser()
parser.add_argument("--input")
args, _ = parser.parse_known_args()
spark = SparkSession.builder.getOrCreate()
rows = spark.read.option("header", True).csv("file://" + os.path.abspath(args.input)).count()
print("rows:", rows)
print("answer:", spark.conf.get("spark.deck.answer", "unset"))
print("master:", spark.sparkContext.master)
deckrun.log("rows", rows)
os.makedirs("outputs", exist_ok=True)
open("outputs/rows.txt", "w").write(str(rows))
spark.stop()
"""

# Spark logs its shutdown after the traceback; the summary must still name the exception.
FAIL_JOB = """\
from pyspark.sql import SparkSession
spark = SparkSession.builder.master("local[1]").getOrCreate()
print("about to fail", flush=True)
raise ValueError("no such column: price")
"""


def write(project, name, text):
    path = project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.spark
def test_attach_check_prepare_submit_fail_and_cancel_through_the_cli(
        deck, project, ssh_server, spark_cluster, tmp_path):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    deck.env["HOME"] = str(home)  # known_hosts of this test only
    deck("target", "attach", "cluster", "--name", "spark1", "--address", ssh_server.host,
         "--port", str(ssh_server.port), "--username", ssh_server.user,
         "--identity-file", str(ssh_server.client_key), "--master", spark_cluster.master,
         "--spark-submit", str(spark_cluster.spark_submit), check=True)
    check = deck("target", "check", "spark1", "--accept-host-key", ssh_server.fingerprint,
                 check=True)
    assert "spark_version: " in check.out and "master_reachable: yes" in check.out
    assert "python: 3." in check.out

    prepared = deck("prepare", "-c", "spark1", timeout=300, check=True)
    assert "Environment: " in prepared.out  # the sample's pip list (six)
    again = deck("prepare", "-c", "spark1", check=True)
    assert "nothing to build" in again.out

    write(project, "job.py", COUNT_JOB)
    write(project, "data.csv", "id,name\n1,a\n2,b\n3,c\n4,d\n")
    write(project, "aml_config/spark_dependencies.yml", "configuration:\n  spark.deck.answer: 7\n")
    result = deck("submit", "-c", "spark1", "job.py", "--input", "data.csv", timeout=300)
    assert result.returncode == 0, result.out[-3000:] + result.err
    assert "rows: 4" in result.out and "answer: 7" in result.out
    assert f"master: {spark_cluster.master}" in result.out
    run = deck.json("runs", "show", run_id_of(result.out))
    assert run["status"] == "Completed"
    assert run["external_id"].startswith("app-") and run["external_id"] in result.out
    assert run["metrics"]["rows"] == [4]
    assert run["artifacts"] == ["outputs/rows.txt"]

    write(project, "fail.py", FAIL_JOB)
    failed = deck("submit", "-c", "spark1", "fail.py", timeout=300)
    assert failed.returncode != 0
    run = deck.json("runs", "show", run_id_of(failed.out))
    assert run["status"] == "Failed"
    assert run["error"] == "exit code 1: ValueError: no such column: price"
    assert "Successfully stopped SparkContext" in failed.out  # logged after the traceback

    write(project, "sleepy.py", SLEEPY_JOB)
    run_id = run_id_of(deck("submit", "-c", "spark1", "--detach", "sleepy.py", check=True).out)
    app_id = _wait_for_app(deck, run_id, spark_cluster)
    deck("cancel", run_id, timeout=120, check=True)
    assert deck.wait_for(run_id, timeout=60)["status"] == "Canceled"
    deadline = time.monotonic() + 30
    while app_id in spark_cluster.running_app_ids() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert app_id not in spark_cluster.running_app_ids()


SLEEPY_JOB = """\
import time
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("sleeping", flush=True)
spark.sparkContext.parallelize(range(1), 1).map(lambda x: time.sleep(600)).count()
"""


def _wait_for_app(deck, run_id, cluster, timeout=120) -> str:
    """The run's application id once the master lists it as running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = deck.json("runs", "show", run_id)
        app_id = run.get("external_id") or ""
        if run["status"] == "Running" and app_id in cluster.running_app_ids():
            return app_id
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} never showed a running application: {run}")


LOCAL_RUNCONFIG = """\
ArgumentVector: [$file]
Target: local
Framework: PySpark
EnvironmentVariables: {GREETING: hi}
PrepareEnvironment: false
"""


def test_pyspark_on_the_local_target_runs_spark_submit_local(deck, project):
    pytest.importorskip("pyspark")
    write(project, "aml_config/localspark.runconfig", LOCAL_RUNCONFIG)
    write(project, "aml_config/spark_dependencies.yml", "configuration:\n  spark.deck.answer: 9\n")
    write(project, "job.py", COUNT_JOB)
    write(project, "data.csv", "id\n1\n2\n")
    # At deck's default niceness a local JVM crawls beside a CPU hog (minutes on a loaded CI
    # machine); niceness is not what this test is about. The timeout only bounds a hang.
    compute = project / "aml_config" / "local.compute"
    compute.write_text(compute.read_text() + "niceness: 0\n")
    result = deck("submit", "-c", "localspark", "job.py", "--input", "data.csv", timeout=900)
    assert result.returncode == 0, result.out[-3000:] + result.err
    assert "rows: 2" in result.out and "answer: 9" in result.out
    assert "master: local[*]" in result.out
    run = deck.json("runs", "show", run_id_of(result.out))
    assert run["metrics"]["rows"] == [2] and run["artifacts"] == ["outputs/rows.txt"]


def test_a_malformed_spark_dependencies_file_is_reported_at_its_line(deck, project):
    write(project, "aml_config/spark_dependencies.yml", textwrap.dedent("""\
        configuration: {}
        packages:
          - group: deck
            artifact: hello
            verison: 1.0
        """))
    result = deck("submit", "-c", "local", "train.py")
    assert result.returncode != 0
    assert "spark_dependencies.yml:3:" in result.err, result.err
    assert "did you mean version" in result.err


# -- pip's wrapper, Workbench's folders and a secret on the real cluster ----------------------

#: pip's spark-submit wrapper of the shared venv (pyspark installed there).
WRAPPER = Path(sys.prefix) / "bin" / "spark-submit"

SHARE_JOB = """\
import hashlib, os, pickle, sys, time
from pyspark.sql import SparkSession
print("outputs at start:", sorted(os.listdir("outputs")), flush=True)
share = os.environ["AZUREML_NATIVE_SHARE_DIRECTORY"]
print("share:", share, flush=True)
print("token sha256:", hashlib.sha256(os.environ["TOKEN"].encode()).hexdigest(), flush=True)
spark = SparkSession.builder.getOrCreate()  # registers with the master; no job: one core
print("app:", spark.sparkContext.applicationId, flush=True)
open(os.path.join(share, "ready"), "w").write("ready")
deadline = time.time() + 300
while not os.path.exists(os.path.join(share, "go")) and time.time() < deadline:
    time.sleep(0.1)
pickle.dump({"w": 1}, open("./outputs/model.pkl", "wb"))
spark.stop()
"""


def _cluster_project(deck, project, ssh_server, spark_cluster, tmp_path, *, extra: str = "",
                     env: str = "{}", spark_submit: Path | str | None = None) -> None:
    """A ``spark1`` cluster target written as a user would, and this test's known_hosts.

    ``spark_submit=""`` leaves ``sparkSubmitLocation`` out: the head node's PATH decides.
    """
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    ssh_server.write_known_hosts(home / ".ssh" / "known_hosts")
    deck.env["HOME"] = str(home)
    write(project, "aml_config/spark1.compute", textwrap.dedent(f"""\
        type: cluster
        address: {ssh_server.host}
        port: {ssh_server.port}
        username: {ssh_server.user}
        identityFile: {ssh_server.client_key}
        sparkMaster: {spark_cluster.master}
        userManagedEnvironment: true
        """) + extra + ("" if spark_submit == "" else
                        f"sparkSubmitLocation: {spark_submit or spark_cluster.spark_submit}\n"))
    write(project, "aml_config/spark1.runconfig", textwrap.dedent(f"""\
        ArgumentVector: [$file]
        Target: spark1
        Framework: PySpark
        EnvironmentVariables: {env}
        PrepareEnvironment: false
        """))


@pytest.mark.spark
def test_pips_wrapper_outputs_share_and_a_keyring_secret_on_the_cluster(
        deck, project, ssh_server, spark_cluster, system_keyring, remote_scratch, tmp_path):
    """The head node's python3 has no pyspark: pip's wrapper alone would exit 127 there."""
    import hashlib
    import secrets

    import keyring

    token = "tok-" + secrets.token_hex(12)
    keyring.set_password("deck-spark-test", "token", token)
    for key in ("PYTHON_KEYRING_BACKEND", "XDG_DATA_HOME"):
        deck.env[key] = os.environ[key]
    share_name = f"{remote_scratch}/share"
    share = ssh_server.home / share_name / project.name
    _cluster_project(deck, project, ssh_server, spark_cluster, tmp_path,
                     extra=f"nativeSharedDirectory: ~/{share_name}\n",
                     env="{TOKEN: 'keyring:deck-spark-test/token'}", spark_submit=WRAPPER)
    check = deck("target", "check", "spark1", timeout=180, check=True)
    assert "spark_home: " in check.out and "set by deck for pip's wrapper" in check.out

    write(project, "job.py", SHARE_JOB)
    proc = deck.popen("submit", "-c", "spark1", "job.py")
    try:
        deadline = time.monotonic() + 300
        while not (share / "ready").exists():
            assert proc.poll() is None, proc.communicate()[0].decode()[-3000:]
            assert time.monotonic() < deadline, "the job never got to its SparkContext"
            time.sleep(0.2)
        # While spark-submit, its JVM and the driver run: no command line holds the secret.
        ps = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True, text=True)
        assert token not in ps.stdout
        seen = [line for line in ps.stdout.splitlines()
                if "org.apache.spark.deploy.SparkSubmit" in line and "job.py" in line]
        assert seen, "spark-submit of the run must be there to be seen"
        (share / "go").write_text("go")
        out, err = proc.communicate(timeout=300)
    finally:
        if share.is_dir():  # a failed assertion must not leave the job holding the cluster
            (share / "go").write_text("go")
        if proc.poll() is None:
            proc.kill()
    out = out.decode(errors="replace")
    assert proc.returncode == 0, out[-3000:] + err.decode(errors="replace")
    assert "spark-class: No such file" not in out
    assert "outputs at start: []" in out and "app: app-" in out
    assert f"share: {ssh_server.home}/{share_name}/{project.name}/" in out
    assert f"token sha256: {hashlib.sha256(token.encode()).hexdigest()}" in out
    run = deck.json("runs", "show", run_id_of(out))
    assert run["status"] == "Completed" and run["artifacts"] == ["outputs/model.pkl"]
    # No file left on the head node (or in the project) holds the secret.
    for folder in (ssh_server.home, project):
        found = subprocess.run(["grep", "-rlF", token, str(folder)], capture_output=True,
                               text=True)
        assert found.stdout == "", found.stdout


@pytest.mark.spark
def test_a_failed_runs_summary_names_what_spark_said(deck, project, ssh_server, spark_cluster,
                                                     remote_scratch, tmp_path):
    empty_repo = ssh_server.home / remote_scratch / "repo"
    empty_repo.mkdir(parents=True)
    _cluster_project(deck, project, ssh_server, spark_cluster, tmp_path)
    write(project, "job.py", "print('never runs')\n")
    write(project, "aml_config/spark_dependencies.yml", textwrap.dedent(f"""\
        configuration: {{}}
        repositories:
          - file://{empty_repo}
        packages:
          - group: deck
            artifact: absent
            version: 9.9.9
        """))
    failed = deck("submit", "-c", "spark1", "job.py", timeout=300)
    assert failed.returncode != 0 and "never runs" not in failed.out
    run = deck.json("runs", "show", run_id_of(failed.out))
    assert run["status"] == "Failed"
    assert run["error"].startswith(
        "exit code 1: unresolved dependency: deck#absent;9.9.9: not found"), run["error"]

    # The JVM does not start: what it said before giving up.
    write(project, "aml_config/spark_dependencies.yml",
          "configuration:\n  spark.driver.memory: lots\n")
    failed = deck("submit", "-c", "spark1", "job.py", timeout=300)
    run = deck.json("runs", "show", run_id_of(failed.out))
    assert run["status"] == "Failed"
    assert run["error"] == "exit code 1: Java did not start: Invalid maximum heap size: " \
                           "-Xmxlots", run["error"]

    # A Python exception raised by a driver connected to the cluster: Spark logs its shutdown
    # after the traceback.
    write(project, "aml_config/spark_dependencies.yml", "configuration: {}\n")
    write(project, "fail.py", CLUSTER_FAIL_JOB)
    failed = deck("submit", "-c", "spark1", "fail.py", timeout=300)
    assert "Successfully stopped SparkContext" in failed.out
    run_id = run_id_of(failed.out)
    run = deck.json("runs", "show", run_id)
    assert run["error"] == "exit code 1: ValueError: the model diverged", run["error"]
    assert "ValueError: the model diverged" in deck("runs", "show", run_id, check=True).out


CLUSTER_FAIL_JOB = """\
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("app:", spark.sparkContext.applicationId, flush=True)
raise ValueError("the model diverged")
"""


# -- spark-submit found on the head node's PATH ----------------------------------------------

PATH_JOB = """\
import os, shutil
from pyspark.sql import SparkSession
print("spark-submit:", shutil.which("spark-submit"), flush=True)
print("spark home:", os.environ["SPARK_HOME"], flush=True)
spark = SparkSession.builder.getOrCreate()  # registers with the master; no job: one core
print("app:", spark.sparkContext.applicationId, "on", spark.sparkContext.master, flush=True)
spark.stop()
"""

#: Marks the lines a test adds to deckuser's ~/.bashrc, so a crashed test's are found again.
BASHRC_MARK = "# launchdeck test PATH"


def _rewrite_bashrc(bashrc: Path, first: str = "") -> None:
    """``first`` and deckuser's ~/.bashrc without any line a test added, in one step (an SSH
    login may be reading the file right now)."""
    kept = [line for line in bashrc.read_text().splitlines(keepends=True)
            if BASHRC_MARK not in line]
    stat = bashrc.stat()
    fresh = bashrc.with_name(f".bashrc.{os.getpid()}")
    fresh.write_text(first + "".join(kept))
    os.chown(fresh, stat.st_uid, stat.st_gid)
    fresh.chmod(stat.st_mode & 0o777)
    os.replace(fresh, bashrc)


@pytest.fixture
def head_node_bin(ssh_server, remote_scratch):
    """A folder of deckuser's, first on PATH of every shell of deckuser's (``~/.bashrc``).

    The line goes at the top of ~/.bashrc, before Debian's "not interactive: return", as users
    do for commands run over SSH. One test at a time changes the file (a lock).
    """
    import fcntl

    folder = ssh_server.home / remote_scratch / "bin"
    folder.mkdir(parents=True)
    subprocess.run(["chmod", "-R", "a+rX", str(ssh_server.home / remote_scratch)], check=True)
    bashrc = ssh_server.home / ".bashrc"
    with open(ssh_server.home / ".launchdeck-test" / "bashrc.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _rewrite_bashrc(bashrc, f'export PATH="$HOME/{remote_scratch}/bin:$PATH"  '
                                f'{BASHRC_MARK}\n')
        try:
            yield folder
        finally:
            _rewrite_bashrc(bashrc)


@pytest.mark.spark
def test_spark_submit_on_the_head_nodes_path_runs_a_job_without_sparksubmitlocation(
        deck, project, ssh_server, spark_cluster, head_node_bin, tmp_path):
    """deckuser links pip's spark-submit into a folder on PATH; the compute names none."""
    from launchdeck.core.targets.spark.submit import find_spark_home

    (head_node_bin / "spark-submit").symlink_to(WRAPPER)
    _cluster_project(deck, project, ssh_server, spark_cluster, tmp_path, spark_submit="")
    assert "sparkSubmitLocation" not in (project / "aml_config/spark1.compute").read_text()
    check = deck("target", "check", "spark1", timeout=180, check=True)
    assert f"spark_submit: {head_node_bin / 'spark-submit'}\n" in check.out, check.out
    assert "set by deck for pip's wrapper" in check.out

    write(project, "job.py", PATH_JOB)
    result = deck("submit", "-c", "spark1", "job.py", timeout=300)
    assert result.returncode == 0, result.out[-3000:] + result.err
    assert f"spark-submit: {head_node_bin / 'spark-submit'}\n" in result.out
    assert f"spark home: {find_spark_home(str(WRAPPER))}\n" in result.out
    assert f"on {spark_cluster.master}" in result.out and "app: app-" in result.out
    assert deck.json("runs", "show", run_id_of(result.out))["status"] == "Completed"


# -- the keeper killed at random moments ------------------------------------------------------

KILL_TRIES = 10
KILL_JOB = """\
import os, sys, time, deckrun
with open(os.environ["AZUREML_NATIVE_SHARE_DIRECTORY"] + "starts", "a") as starts:
    starts.write(os.environ["DECK_RUN_ID"] + "\\n")  # a revived keeper must not start it again
for i in range(40):
    print("line %03d" % i, flush=True)
    deckrun.log("i", i)
    time.sleep(0.05)
open("outputs/done.txt", "w").write("done")
sys.exit(3)
"""


@pytest.mark.spark
def test_keepers_killed_at_random_moments_lose_nothing_on_the_cluster(
        deck, project, ssh_server, spark_cluster, remote_scratch, tmp_path):
    """kill -9 of the keeper anywhere from submit to the end; a revived keeper finishes it.

    No SparkContext: spark-submit runs the script as its driver, a few seconds a try.
    """
    import random
    import signal

    from launchdeck.core.history.store import HistoryStore

    share_name = f"{remote_scratch}/share"
    starts = ssh_server.home / share_name / project.name / "starts"
    _cluster_project(deck, project, ssh_server, spark_cluster, tmp_path,
                     extra=f"nativeSharedDirectory: ~/{share_name}\n")
    write(project, "job.py", KILL_JOB)
    rng = random.Random(int(os.environ.get("DECK_TEST_SEED", time.time())))
    expected = [f"line {i:03d}" for i in range(40)]
    for attempt in range(KILL_TRIES):
        run_id = run_id_of(deck("submit", "-c", "spark1", "--detach", "job.py",
                                check=True).out)
        history = HistoryStore(project / ".deck" / "history.db")
        try:
            # The moment of the kill (not an assertion); every other try within the launch.
            time.sleep(rng.uniform(0.0, 2.0 if attempt % 2 else 6.0))
            run = history.get_run(run_id)
            if run.keeper_pid and not run.status.is_terminal:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(run.keeper_pid, signal.SIGKILL)
        finally:
            history.close()
        follow = deck("logs", run_id, "-f", timeout=300)  # revives a keeper, which attaches
        why = f"try {attempt}, run {run_id} (killed while {run.status}):\n{follow.out[-2000:]}"
        assert follow.returncode == 3, why
        assert [ln for ln in follow.out.splitlines() if ln.startswith("line ")] == expected, why
        log = (project / ".deck" / "runs" / run_id / "output.log").read_text()
        assert [ln for ln in log.splitlines() if ln.startswith("line ")] == expected, why
        shown = deck.json("runs", "show", run_id)
        assert shown["status"] == "Failed" and shown["exit_code"] == 3, why
        assert shown["metrics"]["i"] == list(range(40)), why
        assert shown["artifacts"] == ["outputs/done.txt"], why
        assert (project / ".deck" / "runs" / run_id / "outputs" / "done.txt").read_text() \
            == "done"
        assert starts.read_text().splitlines().count(run_id) == 1, why
