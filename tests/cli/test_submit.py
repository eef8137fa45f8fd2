"""`deck submit`, `deck logs -f` and `deck cancel` on the local target, as a user runs them."""

import json
import os
import signal
import time

import pytest

from tests.fixtures.projects import run_id_of
from tests.fixtures.waiting import LOCAL_SPARK_JOB_TIMEOUT, until


def write(project, name, text):
    path = project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def set_compute_key(project, line):
    path = project / "aml_config" / "local.compute"
    path.write_text(path.read_text() + line + "\n")


def test_submit_prints_run_id_first_streams_output_and_returns_the_exit_code(deck, project):
    write(project, "fail.py", "import sys\nprint('before exit')\nsys.exit(3)\n")
    result = deck("submit", "-c", "local", "fail.py")
    assert result.returncode == 3, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("RunId: ")
    assert "before exit" in lines[1:]
    run = deck.json("runs", "show", run_id_of(result.out))
    assert run["status"] == "Failed" and run["exit_code"] == 3


def test_sample_training_records_metrics_artifacts_and_snapshot(deck):
    result = deck("submit", "-c", "local", "train.py", "--epochs", "3", "--sleep", "0")
    assert result.returncode == 0, result.err
    assert "hello from local" in result.out
    run = deck.json("runs", "show", run_id_of(result.out))
    assert run["status"] == "Completed" and run["exit_code"] == 0
    assert run["script"] == "train.py"
    assert run["arguments"] == ["--epochs", "5", "--epochs", "3", "--sleep", "0"]
    assert len(run["metrics"]["loss"]) == 3
    assert run["metrics"]["loss"][0] > run["metrics"]["loss"][-1]
    assert set(run["metrics"]) >= {"loss", "w", "Accuracy", "epochs"}
    assert run["metrics"]["epochs"] == [[3, "done"]]
    assert run["artifacts"] == ["outputs/model.json"]
    assert len(run["snapshot"]) == 64
    for key in ("created_utc", "start_time_utc", "end_time_utc", "duration_s", "target",
                "run_configuration"):
        assert run[key] is not None
    model = deck.project / ".deck" / "runs" / run["run_id"] / "outputs" / "model.json"
    assert json.loads(model.read_text())["w"] > 0


NASTY = ["it's \"quoted\"", "$(touch /tmp/deck-pwned)", "`id`", "two\nlines", "ünïcødé €😀",
         "  spaces  ", "007", "yes", "a: b # c", "back\\slash", ""]


def test_env_values_and_arguments_reach_the_script_byte_for_byte(deck, project):
    write(project, "echo_env.py",
          "import json, os, sys\n"
          "os.makedirs('outputs', exist_ok=True)\n"
          "names = sorted(k for k in os.environ if k.startswith('NASTY_'))\n"
          "json.dump({'env': {k: os.environ[k] for k in names}, 'argv': sys.argv[1:]},\n"
          "          open('outputs/seen.json', 'w', encoding='utf-8'), ensure_ascii=False)\n")
    pairs = [f"NASTY_{i:02d}={value}" for i, value in enumerate(NASTY)]
    deck("runconfig", "env", "set", "local", *pairs, check=True)
    result = deck("submit", "-c", "local", "echo_env.py", *NASTY)
    assert result.returncode == 0, result.err
    seen = json.loads((project / ".deck" / "runs" / run_id_of(result.out) / "outputs" /
                       "seen.json").read_text(encoding="utf-8"))
    assert seen["env"] == {f"NASTY_{i:02d}": v for i, v in enumerate(NASTY)}
    assert seen["argv"] == ["--epochs", "5", *NASTY]
    assert not os.path.exists("/tmp/deck-pwned")


def test_detach_returns_while_the_run_goes_on_and_the_run_completes(deck, project):
    # The script cannot end before the test releases it, so a submit that returned with the run
    # still active did not wait for it.
    write(project, "slow.py", "import os, time\n"
          "while not os.path.exists(os.environ['RELEASE']): time.sleep(0.05)\n"
          "print('finished')\n")
    release = project.parent / "release"
    deck.env["RELEASE"] = str(release)
    result = deck("submit", "-c", "local", "--detach", "slow.py", check=True)
    run_id = run_id_of(result.out)
    assert deck.json("runs", "show", run_id)["status"] in ("Queued", "Preparing", "Running")
    release.touch()
    assert deck.wait_for(run_id)["status"] == "Completed"
    assert deck("logs", run_id, check=True).out == "finished\n"


def test_a_queued_run_executes_the_snapshot_taken_at_submit(deck, project):
    set_compute_key(project, "maxConcurrentRuns: 1")
    write(project, "block.py", "import os, time\n"
          "while not os.path.exists(os.environ['RELEASE']): time.sleep(0.05)\n")
    write(project, "show.py", "print(open('data.txt').read())\n")
    write(project, "data.txt", "original")
    release = project.parent / "release"
    deck.env["RELEASE"] = str(release)
    blocker = run_id_of(deck("submit", "-c", "local", "--detach", "block.py", check=True).out)
    second = run_id_of(deck("submit", "-c", "local", "--detach", "show.py", check=True).out)
    # With the only slot held by a running blocker, the second run can only be waiting.
    deck.wait_for(blocker, states=("Running",))
    assert deck.json("runs", "show", second)["status"] == "Queued"
    write(project, "data.txt", "edited after submit")
    write(project, "show.py", "print('the live file, not the snapshot')\n")
    release.touch()
    assert deck.wait_for(blocker)["status"] == "Completed"
    assert deck.wait_for(second)["status"] == "Completed"
    assert deck("logs", second, check=True).out == "original\n"


def test_submit_to_a_busy_target_prints_the_run_id_then_streams_once_the_run_starts(deck,
                                                                                   project):
    set_compute_key(project, "maxConcurrentRuns: 1")
    write(project, "block.py", "import os, time\n"
          "while not os.path.exists(os.environ['RELEASE']): time.sleep(0.05)\n")
    write(project, "late.py", "import sys\nprint('started late')\nsys.exit(5)\n")
    release = project.parent / "release"
    deck.env["RELEASE"] = str(release)
    blocker = run_id_of(deck("submit", "-c", "local", "--detach", "block.py", check=True).out)
    deck.wait_for(blocker, states=("Running",))
    proc, run_id = _submit_in_background(deck, "late.py")  # the id comes while it waits
    assert deck.json("runs", "show", run_id)["status"] == "Queued"
    release.touch()
    out, err = proc.communicate(timeout=120)
    assert out == b"started late\n"
    assert proc.returncode == 5 and f"Run {run_id}: Failed" in err.decode()


def test_never_more_runs_than_the_target_allows_and_in_submit_order(deck, project):
    set_compute_key(project, "maxConcurrentRuns: 2")
    write(project, "nap.py", "import time\ntime.sleep(1.5)\n")
    ids = [run_id_of(deck("submit", "-c", "local", "--detach", "nap.py", check=True).out)
           for _ in range(5)]
    runs = [deck.wait_for(run_id) for run_id in ids]
    assert all(r["status"] == "Completed" for r in runs)
    events = sorted([(r["start_time_utc"], +1) for r in runs] +
                    [(r["end_time_utc"], -1) for r in runs])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert peak == 2
    starts = [r["start_time_utc"] for r in runs]
    assert starts == sorted(starts)


def _submit_in_background(deck, *args):
    proc = deck.popen("submit", "-c", "local", *args)
    first = proc.stdout.readline().decode()
    return proc, run_id_of(first)


def test_sigkill_of_deck_submit_leaves_the_run_going_and_logs_f_reattaches(deck, project):
    write(project, "count.py", "import time, deckrun\n"
          "for i in range(30):\n    print(f'line {i}')\n    deckrun.log('i', i)\n"
          "    time.sleep(0.05)\n"
          "import os; os.makedirs('outputs', exist_ok=True)\n"
          "open('outputs/done.txt', 'w').write('ok')\n")
    proc, run_id = _submit_in_background(deck, "count.py")
    assert proc.stdout.readline() == b"line 0\n"  # killed while it streams
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    follow = deck("logs", run_id, "-f")
    assert follow.returncode == 0
    assert follow.out == "".join(f"line {i}\n" for i in range(30))
    run = deck.json("runs", "show", run_id)
    assert run["status"] == "Completed"
    assert run["metrics"]["i"] == list(range(30))
    assert run["artifacts"] == ["outputs/done.txt"]


def test_killing_the_keeper_loses_no_line_and_still_records_the_exit_code(deck, project):
    # The script holds still half-way until the keeper is dead, so the kill lands while it runs.
    write(project, "count.py", "import os, sys, time, deckrun\n"
          "for i in range(40):\n    print(f'line {i}')\n    deckrun.log('i', i)\n"
          "    while i == 19 and not os.path.exists(os.environ['RELEASE']): time.sleep(0.05)\n"
          "sys.exit(4)\n")
    release = project.parent / "release"
    deck.env["RELEASE"] = str(release)
    run_id = run_id_of(deck("submit", "-c", "local", "--detach", "count.py", check=True).out)
    output = project / ".deck" / "runs" / run_id / "output.log"
    until(lambda: "line 19\n" in (output.read_text() if output.exists() else ""),
          what="line 19 in the run's log")
    os.kill(deck.record(run_id).keeper_pid, signal.SIGKILL)
    assert deck.json("runs", "show", run_id)["status"] == "Running"
    release.touch()
    follow = deck("logs", run_id, "-f")  # revives a keeper, which attaches
    assert follow.returncode == 4
    assert follow.out == "".join(f"line {i}\n" for i in range(40))
    run = deck.json("runs", "show", run_id)
    assert run["status"] == "Failed" and run["exit_code"] == 4
    assert run["metrics"]["i"] == list(range(40))


def test_ctrl_c_while_streaming_detaches_and_says_how_to_come_back(deck, project):
    write(project, "nap.py", "import os, time\nprint('start', flush=True)\n"
          "while not os.path.exists(os.environ['RELEASE']): time.sleep(0.05)\n"
          "print('end')\n")
    release = project.parent / "release"
    deck.env["RELEASE"] = str(release)
    proc, run_id = _submit_in_background(deck, "nap.py")
    assert proc.stdout.readline() == b"start\n"  # streaming, with its handlers in place
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    err = err.decode()
    assert f"deck logs {run_id} -f" in err and f"deck cancel {run_id}" in err
    assert "Traceback" not in err
    release.touch()
    assert deck.wait_for(run_id)["status"] == "Completed"


def test_cancel_stops_the_whole_process_group(deck, project):
    write(project, "tree.py", "import subprocess, sys, time\n"
          "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
          "open('child.pid', 'w').write(str(child.pid))\n"
          "print('started', flush=True)\ntime.sleep(60)\n")
    run_id = run_id_of(deck("submit", "-c", "local", "--detach", "tree.py", check=True).out)
    work = project / ".deck" / "runs" / run_id / "target" / "work"
    deadline = time.monotonic() + 20
    while not (work / "child.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int((work / "child.pid").read_text())
    result = deck("cancel", run_id)
    assert result.returncode == 0, result.err
    assert "Canceled" in result.out
    assert deck.json("runs", "show", run_id)["status"] == "Canceled"
    from launchdeck.core.runs.liveness import pid_alive

    deadline = time.monotonic() + 5
    while pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(child)  # gone, or a zombie nobody reaps: not running


def test_cancel_lets_a_shell_script_trap_sigterm_and_clean_up(deck, project):
    # A shell cannot trap a signal that was ignored when it started, so this fails if the run's
    # process inherits an ignored SIGTERM from deck.
    write(project, "trap.py", "import os\n"
          "os.execvp('sh', ['sh', '-c', 'trap \"echo cleaned up; exit 7\" TERM; "
          "echo started; while :; do sleep 0.1; done'])\n")
    run_id = run_id_of(deck("submit", "-c", "local", "--detach", "trap.py", check=True).out)
    output = project / ".deck" / "runs" / run_id / "target" / "output.log"
    deadline = time.monotonic() + 20
    while "started" not in (output.read_text() if output.exists() else "") \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    result = deck("cancel", run_id)
    assert result.returncode == 0, result.err
    run = deck.json("runs", "show", run_id)
    assert run["status"] == "Canceled" and run["exit_code"] == 7
    assert "cleaned up" in deck("logs", run_id, check=True).out


def test_cancel_still_ends_the_run_when_its_keeper_dies_meanwhile(deck, project):
    write(project, "wait.py", "import time\nprint('started', flush=True)\ntime.sleep(600)\n")
    run_id = run_id_of(deck("submit", "-c", "local", "--detach", "wait.py", check=True).out)
    output = project / ".deck" / "runs" / run_id / "target" / "output.log"
    until(lambda: "started" in (output.read_text() if output.exists() else ""),
          what="the script to start")
    keeper = until(lambda: deck.record(run_id).keeper_pid, what="its keeper's pid")
    os.kill(keeper, signal.SIGSTOP)  # it cannot act on the cancel...
    cancel = deck.popen("cancel", run_id)
    until(lambda: deck.record(run_id).cancel_requested, what="the cancel request")
    os.kill(keeper, signal.SIGKILL)  # ...and dies before it does
    out, err = cancel.communicate(timeout=120)
    assert cancel.returncode == 0, err
    assert b"Canceled" in out
    assert deck.json("runs", "show", run_id)["status"] == "Canceled"


def test_cancel_a_queued_run(deck, project):
    set_compute_key(project, "maxConcurrentRuns: 1")
    write(project, "block.py", "import os, time\n"
          "while not os.path.exists(os.environ['RELEASE']): time.sleep(0.05)\n")
    release = project.parent / "release"
    deck.env["RELEASE"] = str(release)
    first = run_id_of(deck("submit", "-c", "local", "--detach", "block.py", check=True).out)
    second = run_id_of(deck("submit", "-c", "local", "--detach", "block.py", check=True).out)
    assert deck("cancel", second).returncode == 0
    canceled = deck.json("runs", "show", second)
    assert canceled["status"] == "Canceled"
    assert canceled["start_time_utc"] is None
    release.touch()
    assert deck.wait_for(first)["status"] == "Completed"
    again = deck("cancel", second)
    assert again.returncode != 0 and "already Canceled" in again.err


def test_rerun_runs_the_old_snapshot_again_and_streams_it(deck, project):
    write(project, "shout.py", "import sys\nprint('first version', sys.argv[1:])\nsys.exit(3)\n")
    first = run_id_of(deck("submit", "-c", "local", "shout.py", "x").out)
    write(project, "shout.py", "print('edited since')\n")

    result = deck("rerun", first)

    assert result.returncode == 3, result.err
    again = run_id_of(result.out)
    assert again != first
    # The local runconfig's ArgumentVector comes first: --epochs 5.
    assert "first version ['--epochs', '5', 'x']" in result.out
    assert "edited since" not in result.out
    run = deck.json("runs", "show", again)
    assert (run["status"], run["script"], run["arguments"][-1]) == ("Failed", "shout.py", "x")
    missing = deck("rerun", "no-such-run")
    assert missing.returncode == 2 and "no run" in missing.err


def test_trackedrun_false_is_recorded_all_the_same_and_says_so(deck, project):
    path = project / "aml_config" / "local.runconfig"
    path.write_text(path.read_text().replace('"TrackedRun": true', '"TrackedRun": false'))
    result = deck("submit", "-c", "local", "train.py", "--epochs", "1", "--sleep", "0")
    assert result.returncode == 0, result.err
    assert "TrackedRun: false; deck records every run" in result.err
    assert deck.json("runs", "show", run_id_of(result.out))["status"] == "Completed"


PRIORITY = ("import os\n"
            "print('nice', os.nice(0))\n"
            "if os.path.exists('/proc/self/autogroup'):\n"
            "    print('autogroup', open('/proc/self/autogroup').read().split()[-1])\n")


@pytest.mark.parametrize("line, niceness", [("", 10), ("niceness: 3", 3)],
                         ids=["default", "set"])
def test_runs_yield_the_cpu_to_the_keyboard(deck, project, line, niceness):
    # A nice value only counts inside a session's scheduling group, so the group gets it too.
    set_compute_key(project, line)
    write(project, "priority.py", PRIORITY)
    ours = os.nice(0)  # a suite started under `nice` runs deck lower already: never raised
    result = deck("submit", "-c", "local", "priority.py")
    assert result.returncode == 0, result.err
    assert f"nice {max(niceness, ours)}\n" in result.out
    if os.path.exists("/proc/self/autogroup"):
        assert f"autogroup {niceness}\n" in result.out
    assert os.nice(0) == ours  # deck itself, and this session, keep their priority


def test_a_niceness_out_of_range_names_the_file_and_line(deck, project):
    set_compute_key(project, "niceness: 25")
    result = deck("submit", "-c", "local", "train.py")
    assert result.returncode == 2
    assert "local.compute:" in result.err and "niceness" in result.err
    assert "0 to 19" in result.err


# -- Workbench's submit flags: -a/--async, -t/--target, -d/--conda-dependencies, -s ------------

def test_async_is_detach(deck, project):
    write(project, "slow.py", "import time\ntime.sleep(1)\nprint('finished')\n")
    result = deck("submit", "-c", "local", "-a", "slow.py", check=True)
    assert result.out.splitlines() == [result.out.splitlines()[0]]  # the run id line only
    run_id = run_id_of(result.out)
    assert deck.wait_for(run_id)["status"] == "Completed"
    run_id = run_id_of(deck("submit", "-c", "local", "--async", "slow.py", check=True).out)
    assert deck.wait_for(run_id)["status"] == "Completed"


def test_target_flag_runs_on_another_target_for_this_run_only(deck, project):
    write(project, "where.py", "import os\nprint('GREETING', os.environ.get('GREETING'))\n")
    # the docker runconfig, on the local target: its env vars, this machine
    result = deck("submit", "-c", "docker", "-t", "local", "where.py")
    assert result.returncode == 0, result.err
    assert "GREETING hello from docker" in result.out
    run = deck.json("runs", "show", run_id_of(result.out))
    assert run["target"] == "local" and run["run_configuration"] == "docker"
    assert "Target: docker" in (project / "aml_config" / "docker.runconfig").read_text()
    bad = deck("submit", "-c", "local", "-t", "nowhere", "where.py")
    assert bad.returncode == 2 and "--target" in bad.err and "nowhere" in bad.err


@pytest.mark.docker
def test_conda_flag_is_the_dependencies_file_not_detach(deck, project, docker_engine):
    write(project, "envs/never.yml", "dependencies:\n  - pip:\n    - deck-never-built==0.0\n")
    # Workbench's -d: the docker runconfig builds its image from this file instead
    result = deck("submit", "-c", "docker", "-d", "envs/never.yml", "train.py", timeout=600)
    assert result.returncode != 0
    run = deck.json("runs", "show", run_id_of(result.out))
    assert run["status"] == "Failed" and "deck-never-built" in run["error"]
    assert run["script"] == "train.py"
    # a rerun is built from the run's own snapshot with the same file
    again = deck("rerun", run["run_id"], timeout=600)
    rerun = deck.json("runs", "show", run_id_of(again.out))
    assert rerun["status"] == "Failed" and "deck-never-built" in rerun["error"]


def test_dependency_file_flags_are_read_at_submit(deck, project):
    missing = deck("submit", "-c", "local", "-d", "envs/none.yml", "train.py")
    assert missing.returncode == 2
    assert "--conda-dependencies" in missing.err and "envs/none.yml" in missing.err
    write(project, "envs/spark.yml", "configuration:\n  spark.app.name: [not, a, value\n")
    broken = deck("submit", "-c", "local", "-s", "envs/spark.yml", "train.py")
    assert broken.returncode == 2 and "envs/spark.yml" in broken.err
    assert deck.json("runs", "list") == []
    # A file the run is given is the run's own, as its configs are: an ignore file never
    # leaves it out of the snapshot.
    write(project, "envs/hidden.yml", "dependencies:\n  - python=3.11\n")
    write(project, ".amlignore", "envs/hidden.yml\n")
    hidden = deck("submit", "-c", "local", "-d", "envs/hidden.yml", "train.py")
    assert hidden.returncode == 0, hidden.err
    from launchdeck.core.project import Project

    project_ = Project(project)
    fingerprint = deck.json("runs", "show", run_id_of(hidden.out))["snapshot"]
    assert "envs/hidden.yml" in {e.path for e in project_.store.manifest(fingerprint)}


SPARK_CONF_JOB = """\
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("app name:", spark.sparkContext.appName)
print("answer:", spark.conf.get("spark.deck.answer", "unset"))
spark.stop()
"""


def test_spark_flag_gives_a_pyspark_run_its_settings_and_the_run_keeps_that_file(deck, project):
    """``-s FILE`` on a real local PySpark run: the script reads FILE's Spark settings, not those
    of the runconfig's ``spark_dependencies.yml``; the run's history and snapshot keep FILE."""
    write(project, "aml_config/spark.runconfig",
          "ArgumentVector: [$file]\nTarget: local\nFramework: PySpark\n"
          "SparkDependenciesFile: aml_config/spark_dependencies.yml\n")
    write(project, "conf.py", SPARK_CONF_JOB)
    set_compute_key(project, "niceness: 0")  # a niced local JVM crawls beside a CPU hog
    given = write(project, "envs/spark.yml", "configuration:\n  spark.app.name: from the -s file\n"
                                             "  spark.deck.answer: 42\n").read_bytes()
    result = deck("submit", "-c", "spark", "-s", "envs/spark.yml", "conf.py",
                  timeout=LOCAL_SPARK_JOB_TIMEOUT)
    assert result.returncode == 0, result.out[-3000:] + result.err
    assert "app name: from the -s file" in result.out and "answer: 42" in result.out
    run_id = run_id_of(result.out)
    write(project, "envs/spark.yml", "configuration:\n  spark.deck.answer: changed later\n")

    compared = deck.json("runs", "compare", run_id)
    assert compared["config"]["SparkDependenciesFile"] == ["envs/spark.yml"]
    from launchdeck.core.project import Project

    store = Project(project).store
    snapshot = deck.json("runs", "show", run_id)["snapshot"]
    kept = {e.path: e for e in store.manifest(snapshot)}["envs/spark.yml"]
    assert store.blob_path(kept.hash).read_bytes() == given  # what the run was given
