"""`deck runs list|show|compare` and `deck logs` over real runs."""

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
