"""`deck runs list|show|compare` and `deck logs` over real runs."""

import json
import os

from tests.fixtures.projects import run_id_of


def submit(deck, *args):
    result = deck("submit", "-c", "local", *args)
    return run_id_of(result.out), result


def test_list_show_filter_and_limit(deck, project):
    (project / "bad.py").write_text("raise SystemExit(2)\n")
    ok, _ = submit(deck, "train.py", "--epochs", "2", "--sleep", "0")
    bad, _ = submit(deck, "bad.py")
    listed = deck.json("runs", "list")
    assert [r["run_id"] for r in listed] == [bad, ok]
    assert [r["run_id"] for r in deck.json("runs", "list", "--status", "failed")] == [bad]
    assert [r["run_id"] for r in deck.json("runs", "list", "--limit", "1")] == [bad]
    table = deck("runs", "list", check=True).out
    assert ok in table and "Completed" in table and "Failed" in table
    # a unique suffix of an id is enough
    assert deck.json("runs", "show", ok[-6:])["run_id"] == ok
    shown = deck("runs", "show", ok, check=True).out
    assert "loss:" in shown and "outputs/model.json" in shown


def test_compare_shows_config_differences_and_last_metrics(deck):
    first, _ = submit(deck, "train.py", "--epochs", "2", "--sleep", "0")
    deck("runconfig", "env", "set", "local", "LEARNING_RATE=0.05", check=True)
    second, _ = submit(deck, "train.py", "--epochs", "2", "--sleep", "0")
    data = deck.json("runs", "compare", first, second)
    assert data["config_differences"] == ["env.LEARNING_RATE"]
    assert data["config"]["env.LEARNING_RATE"] == ["0.3", "0.05"]
    assert set(data["metrics"]) >= {"loss", "Accuracy"}
    assert data["metrics"]["loss"][0] != data["metrics"]["loss"][1]
    table = deck("runs", "compare", first, second, check=True).out
    assert "env.LEARNING_RATE" in table and "Accuracy" in table


def test_logs_of_a_finished_run_are_the_whole_output(deck, project):
    (project / "both.py").write_text(
        "import sys\nfor i in range(1000):\n    print(i)\n    print('e', i, file=sys.stderr)\n")
    run_id, result = submit(deck, "both.py")
    logs = deck("logs", run_id, check=True).out
    assert logs.count("\n") == 2000
    assert "999\n" in logs and "e 999\n" in logs


ACCURACY_SCRIPT = ("import sys\nfrom azureml.logging import get_azureml_logger\n"
                   "get_azureml_logger().log('accuracy', float(sys.argv[-1]))\n")


def test_runs_are_numbered_and_listed_with_their_last_metrics(deck, project):
    (project / "acc.py").write_text(ACCURACY_SCRIPT)
    ids = [submit(deck, "acc.py", value)[0] for value in ("0.5", "0.75")]
    listed = deck.json("runs", "list")
    assert [(r["run_number"], r["run_id"]) for r in listed] == [(2, ids[1]), (1, ids[0])]
    assert [r["metrics"] for r in listed] == [{"accuracy": 0.75}, {"accuracy": 0.5}]
    table = deck("runs", "list", check=True).out.splitlines()
    assert table[0].split()[:3] == ["#", "RUN", "ID"]
    assert table[1].split()[:2] == ["2", ids[1]] and "accuracy=0.75" in table[1]
    assert deck.json("runs", "show", "1")["run_id"] == ids[0]
    assert deck.json("runs", "show", ids[1])["run_number"] == 2


def test_the_best_run_is_one_query(deck, project):
    (project / "acc.py").write_text(ACCURACY_SCRIPT)
    ids = {value: submit(deck, "acc.py", value)[0] for value in ("0.5", "0.98", "0.75")}
    (project / "plain.py").write_text("print('no metrics')\n")
    submit(deck, "plain.py")
    best = deck("runs", "list", "--query",
                "max_by([?metrics.accuracy], &metrics.accuracy).run_id", check=True)
    assert best.out == ids["0.98"] + "\n"
    numbers = deck("runs", "list", "--query", "[?metrics.accuracy > `0.6`].run_number",
                   check=True)
    assert json.loads(numbers.out) == [3, 2]
    shown = deck("runs", "show", "2", "--query", "metrics.accuracy[-1]", check=True)
    assert json.loads(shown.out) == 0.98
    bad = deck("runs", "list", "--query", "max_by(")
    assert bad.returncode == 2 and "--query" in bad.err and "Traceback" not in bad.err


def test_runs_last_is_the_newest_run(deck, project):
    first, _ = submit(deck, "train.py", "--epochs", "1", "--sleep", "0")
    second, _ = submit(deck, "train.py", "--epochs", "1", "--sleep", "0")
    assert deck.json("runs", "last")["run_id"] == second
    assert deck("runs", "last", check=True).out.startswith(f"run_id:               {second}")


def test_a_short_number_is_a_run_number_or_refused_never_an_unrelated_run(deck, project):
    (project / "slow.py").write_text("import time\ntime.sleep(60)\n")
    running = run_id_of(deck("submit", "-c", "local", "--detach", "slow.py", check=True).out)
    # ids are <project>_<milliseconds>: "7" is in one of them often enough; it must never
    # name that run, and cancel must stop nothing
    for word in ("7", "2"):
        shown = deck("runs", "show", word)
        assert shown.returncode == 2 and f"no run number {word}" in shown.err
        cancel = deck("cancel", word, "--no-wait")
        assert cancel.returncode == 2 and f"no run number {word}" in cancel.err
    assert deck.json("runs", "show", "1")["status"] in ("Queued", "Preparing", "Running")
    deck("cancel", "1", check=True)
    assert deck.json("runs", "show", running)["status"] == "Canceled"


def test_a_part_of_several_ids_is_refused_with_the_candidates(deck, project):
    first, _ = submit(deck, "train.py", "--epochs", "1", "--sleep", "0")
    second, _ = submit(deck, "train.py", "--epochs", "1", "--sleep", "0")
    common = os.path.commonprefix([first, second])
    result = deck("runs", "show", common)
    assert result.returncode == 2
    assert "matches 2 runs" in result.err
    assert f"#2 {second}" in result.err and f"#1 {first}" in result.err
    # without the project prefix, a unique part names the run
    assert deck.json("runs", "show", second[len(project.name) + 1:])["run_id"] == second
    middle = second[len(project.name) + 1:-1]
    if middle not in first:
        assert deck.json("runs", "show", middle)["run_id"] == second


def test_download_writes_outputs_log_and_metrics(deck, project, tmp_path):
    run_id, _ = submit(deck, "train.py", "--epochs", "2", "--sleep", "0")
    dest = tmp_path / "got"
    result = deck("runs", "download", "1", str(dest), check=True)
    assert run_id in result.out
    assert json.loads((dest / "outputs" / "model.json").read_text())["w"] > 0
    assert "training for 2 epochs" in (dest / "output.log").read_text()
    metrics = json.loads((dest / "metrics.json").read_text())
    assert len(metrics["loss"]) == 2 and "Accuracy" in metrics
    assert json.loads((dest / "run.json").read_text())["run_id"] == run_id
    again = deck("runs", "download", "1", str(dest))
    assert again.returncode == 2 and "not an empty folder" in again.err
    # the default destination is a folder named after the run, here
    deck("runs", "download", run_id, check=True)
    assert (project / run_id / "metrics.json").is_file()


def test_delete_asks_refuses_active_runs_and_removes_history_and_files(deck, project):
    done, _ = submit(deck, "train.py", "--epochs", "1", "--sleep", "0")
    (project / "slow.py").write_text("import time\ntime.sleep(60)\n")
    going = run_id_of(deck("submit", "-c", "local", "--detach", "slow.py", check=True).out)
    run_dir = project / ".deck" / "runs" / done
    assert run_dir.is_dir()
    # no terminal to ask on, no --yes: nothing is deleted
    unasked = deck("runs", "delete", "1")
    assert unasked.returncode == 2 and "--yes" in unasked.err
    assert run_dir.is_dir() and deck.json("runs", "show", done)
    refused = deck("runs", "delete", "1", "2", "--yes")
    assert refused.returncode == 2 and "cancel it first" in refused.err
    assert run_dir.is_dir()
    deck("cancel", going, check=True)
    deck("runs", "delete", "1", going, "--yes", check=True)
    assert deck.json("runs", "list") == []
    assert not run_dir.exists() and not (project / ".deck" / "runs" / going).exists()
    # numbers are not reused: the next run is #3
    third, _ = submit(deck, "train.py", "--epochs", "1", "--sleep", "0")
    assert deck.json("runs", "show", "3")["run_id"] == third


def test_move_puts_a_queued_run_where_the_keepers_start_it(deck, project):
    (project / "aml_config" / "local.compute").write_text(
        (project / "aml_config" / "local.compute").read_text() + "maxConcurrentRuns: 1\n")
    (project / "block.py").write_text(
        "import os, time\nwhile not os.path.exists(os.environ['RELEASE']): time.sleep(0.05)\n")
    (project / "quick.py").write_text("print('ran')\n")
    release = project.parent / "release"
    deck.env["RELEASE"] = str(release)
    blocker = run_id_of(deck("submit", "-c", "local", "--detach", "block.py", check=True).out)
    deck.wait_for(blocker, states=("Running",))
    first, second, third = (run_id_of(deck("submit", "-c", "local", "--detach", "quick.py",
                                           check=True).out) for _ in range(3))
    moved = deck("runs", "move", third[-8:], "front", check=True).out
    assert moved.index(third) < moved.index(first) < moved.index(second)
    deck("runs", "move", first, "down", check=True)  # third, second, first
    refused = deck("runs", "move", blocker, "up")
    assert refused.returncode != 0 and "only a queued run" in refused.err
    release.touch()
    runs = [deck.wait_for(run_id) for run_id in (third, second, first)]
    assert all(r["status"] == "Completed" for r in runs)
    starts = [r["start_time_utc"] for r in runs]
    assert starts == sorted(starts), "the keepers took the slot in the moved order"


def test_list_and_show_say_why_a_queued_run_waits(deck, project):
    (project / "aml_config" / "local.compute").write_text(
        (project / "aml_config" / "local.compute").read_text() + "maxConcurrentRuns: 1\n")
    (project / "block.py").write_text(
        "import os, time\nwhile not os.path.exists(os.environ['RELEASE']): time.sleep(0.05)\n")
    release = project.parent / "release"
    deck.env["RELEASE"] = str(release)
    blocker = run_id_of(deck("submit", "-c", "local", "--detach", "block.py", check=True).out)
    deck.wait_for(blocker, states=("Running",))
    first, second = (run_id_of(deck("submit", "-c", "local", "--detach", "block.py",
                                    check=True).out) for _ in range(2))
    listed = deck("runs", "list", check=True).out
    assert "Queued #1 1/1 busy" in listed and "Queued #2 1/1 busy" in listed
    shown = deck("runs", "show", second, check=True).out
    assert "waits:" in shown and "2nd in line for local; 1/1 slots of local busy" in shown
    for run_id in (first, second, blocker):
        deck("cancel", run_id, check=True)

