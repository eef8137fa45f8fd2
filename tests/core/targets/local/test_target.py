"""The local target as a Workbench user meets it: real runs through `deck submit`.

``./outputs/`` exists before the script starts, ``nativeSharedDirectory`` gives the script
``AZUREML_NATIVE_SHARE_DIRECTORY``, ArgumentVector entries before ``$file`` are interpreter
options, and nothing the script started outlives its run.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from launchdeck.core.targets.base import NO_EVENTS
from tests.fixtures.projects import run_id_of


def write(project, name, text):
    path = project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def runconfig(project, name, vector, framework="Python"):
    lines = "".join(f"  - {json.dumps(entry)}\n" for entry in vector)
    write(project, f"aml_config/{name}.runconfig",
          f"ArgumentVector:\n{lines}Target: local\nFramework: {framework}\n"
          "PrepareEnvironment: false\n")


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has ended)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def wait_for_file(path, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} was not written in {timeout} s")


def test_outputs_folder_exists_before_the_script_starts(deck, project):
    write(project, "pickle_model.py", "import os, pickle\n"
          "print(sorted(os.listdir('outputs')))\n"
          "pickle.dump({'w': 3}, open('./outputs/model.pkl', 'wb'))\n")
    result = deck("submit", "-c", "local", "pickle_model.py")
    assert result.returncode == 0, result.out + result.err
    run = deck.json("runs", "show", run_id_of(result.out))
    assert run["status"] == "Completed"
    assert deck("logs", run["run_id"], check=True).out == "[]\n"
    assert run["artifacts"] == ["outputs/model.pkl"]


def test_native_shared_directory_is_given_to_the_script_and_kept_between_runs(deck, project,
                                                                               tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    deck.env["HOME"] = str(home)
    compute = project / "aml_config" / "local.compute"
    compute.write_text(compute.read_text() + 'nativeSharedDirectory: "~/.azureml/share"\n')
    write(project, "save.py", "import os\nshare = os.environ['AZUREML_NATIVE_SHARE_DIRECTORY']\n"
          "print(share)\nopen(share + 'state.txt', 'w').write('from run one')\n")
    write(project, "load.py", "import os\nshare = os.environ['AZUREML_NATIVE_SHARE_DIRECTORY']\n"
          "print(open(os.path.join(share, 'state.txt')).read())\n")

    first = deck("submit", "-c", "local", "save.py")
    assert first.returncode == 0, first.out + first.err
    expected = f"{home}/.azureml/share/{project.name}/"
    assert deck("logs", run_id_of(first.out), check=True).out == expected + "\n"
    second = deck("submit", "-c", "local", "load.py")
    assert second.returncode == 0, second.out + second.err
    assert deck("logs", run_id_of(second.out), check=True).out == "from run one\n"
    assert (home / ".azureml" / "share" / project.name / "state.txt").is_file()


SHOW_ARGV = "import sys\nprint(sys.flags.optimize, sys.warnoptions, sys.argv[1:])\n"


def test_entries_before_file_are_interpreter_options(deck, project):
    write(project, "show.py", SHOW_ARGV)
    runconfig(project, "opts", ["-O", "-W", "ignore::DeprecationWarning", "$file", "a", "$file"])
    result = deck("submit", "-c", "opts", "show.py", "extra")
    assert result.returncode == 0, result.out + result.err
    run = deck.json("runs", "show", run_id_of(result.out))
    assert deck("logs", run["run_id"], check=True).out == \
        "1 ['ignore::DeprecationWarning'] ['a', 'show.py', 'extra']\n"
    assert run["arguments"] == ["a", "show.py", "extra"]


def test_a_first_entry_naming_the_script_is_not_passed_again(deck, project):
    write(project, "show.py", SHOW_ARGV)
    runconfig(project, "named", ["show.py", "--epochs", "3"])
    result = deck("submit", "-c", "named", "show.py")
    assert result.returncode == 0, result.out + result.err
    assert deck("logs", run_id_of(result.out), check=True).out == "0 [] ['--epochs', '3']\n"


def test_interpreter_options_spark_submit_cannot_apply_are_refused_at_submit(deck, project):
    write(project, "show.py", SHOW_ARGV)
    runconfig(project, "sparkopts", ["-O", "$file"], framework="PySpark")
    result = deck("submit", "-c", "sparkopts", "show.py")
    assert result.returncode != 0
    assert "sparkopts.runconfig" in result.err and "ArgumentVector" in result.err
    assert "-O" in result.err and "Traceback" not in result.err
    assert deck.json("runs", "list") == []


# The script starts a daemon the classic way (fork, setsid, fork) that records its pid, then
# either waits for ever or returns at once.
DAEMONIZING = """\
import os, sys, time
pid_file = sys.argv[1]
child = os.fork()
if child == 0:
    os.setsid()
    if os.fork():
        os._exit(0)
    signal_proof = sys.argv[2] == "stubborn"
    if signal_proof:
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with open(pid_file + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(pid_file + ".tmp", pid_file)
    time.sleep(600)
    os._exit(0)
os.waitpid(child, 0)
while not os.path.exists(pid_file):
    time.sleep(0.05)
print("daemon started", flush=True)
if sys.argv[3] == "wait":
    time.sleep(600)
"""


@pytest.fixture
def daemon_pids():
    pids = []
    yield pids
    for pid in pids:  # never leave one behind, whatever the test found
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_cancel_stops_a_process_the_script_daemonized(deck, project, tmp_path, daemon_pids):
    write(project, "daemonize.py", DAEMONIZING)
    runconfig(project, "plain", ["$file"])
    pid_file = tmp_path / "daemon.pid"
    result = deck("submit", "--detach", "-c", "plain", "daemonize.py", str(pid_file), "polite",
                  "wait")
    assert result.returncode == 0, result.out + result.err
    run_id = run_id_of(result.out)
    daemon = int(wait_for_file(pid_file))
    daemon_pids.append(daemon)
    assert alive(daemon)
    deck("cancel", run_id, check=True)
    assert deck.wait_for(run_id)["status"] == "Canceled"
    assert not alive(daemon)


def test_a_daemon_left_behind_by_a_finished_script_is_stopped_even_if_it_ignores_sigterm(
        deck, project, tmp_path, daemon_pids):
    write(project, "daemonize.py", DAEMONIZING)
    runconfig(project, "plain", ["$file"])
    pid_file = tmp_path / "daemon.pid"
    result = deck("submit", "-c", "plain", "daemonize.py", str(pid_file), "stubborn", "exit")
    assert result.returncode == 0, result.out + result.err
    daemon = int(pid_file.read_text())
    daemon_pids.append(daemon)
    run = deck.json("runs", "show", run_id_of(result.out))
    assert run["status"] == "Completed" and run["exit_code"] == 0
    assert not alive(daemon)


async def test_launching_a_run_again_attaches_to_the_process_already_started(project):
    # As when a keeper dies between starting the script and recording it in history: the
    # revived keeper launches again, and must find the first process instead of a second run.
    from launchdeck.core.project import Project
    from launchdeck.core.runs.runspec import spec_for
    from launchdeck.core.runs.submit import submit
    from launchdeck.core.targets.local.target import LocalTarget

    write(project, "once.py", "import time\nprint('started', flush=True)\ntime.sleep(1)\n")
    runconfig(project, "plain", ["$file"])
    deck_project = Project(project)
    run = submit(deck_project, "plain", str(project / "once.py"), start=False)
    spec, configs = spec_for(deck_project, run)
    target = LocalTarget(configs.compute)
    first = await target.launch(spec, NO_EVENTS)
    second = await target.launch(spec, NO_EVENTS)
    assert second.external_id == first.external_id
    assert await second.wait() == 0
    assert b"".join([chunk async for chunk in second.logs(0)]) == b"started\n"
    # Once the first process has ended, a launch still finds it rather than running again.
    third = await target.launch(spec, NO_EVENTS)
    assert third.external_id == first.external_id and await third.wait() == 0
    assert (spec.run_dir / "target" / "output.log").read_text() == "started\n"
