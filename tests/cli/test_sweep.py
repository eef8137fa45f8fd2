"""``deck sweep``: real sweeps on the local and docker targets, through the real CLI."""

import json
import os
import signal
import textwrap

import pytest

from tests.cli.test_remote_docker import home, remote_deck  # noqa: F401 - fixtures
from tests.fixtures.waiting import until

def script(options: str, body: str) -> str:
    """A trial script: ``--epochs`` (the runconfig's) and ``options`` ("lr:float n:int"), then
    ``body`` with the parsed arguments in ``a``."""
    lines = ["import argparse, os, time, deckrun", "p = argparse.ArgumentParser()",
             'p.add_argument("--epochs", type=int)']
    for option in options.split():
        name, kind = option.split(":")
        lines.append(f'p.add_argument("--{name}", type={kind})')
    return "\n".join([*lines, "a = p.parse_args()", textwrap.dedent(body)])


TUNE = script("lr:float layers:int", """\
    for step in range(3):
        deckrun.log("accuracy", round(1 - abs(a.lr - 0.1) + a.layers * 0.01, 6))
    print("trained", a.lr, a.layers)
    """)

#: Reads its parameters from the environment (--env).
ENV_TUNE = """\
import os, deckrun
lr, n = float(os.environ["lr"]), int(os.environ["n"])
deckrun.log("seen_lr", lr)
deckrun.log("seen_n", n)
deckrun.log("score", lr * n)
"""

QUADRATIC = script("x:float k:int", """\
    deckrun.log("loss", (a.x - 0.5) ** 2 + a.k)
    """)

#: "good" wins at once; "bad" is built to lose, slowly: it logs a poor accuracy for minutes.
RACE = script("quality:str", """\
    if a.quality == "good":
        for step in range(3):
            deckrun.log("accuracy", 0.9)
    else:
        for step in range(3000):
            deckrun.log("accuracy", 0.1)
            time.sleep(0.05)
    """)

#: Waits until the test lets trial N end (a file named go-N appears in GATE).
HOLD = script("gate:str n:int", """\
    deadline = time.time() + 600
    while not os.path.exists(os.path.join(a.gate, "go-%d" % a.n)) and time.time() < deadline:
        time.sleep(0.05)
    deckrun.log("score", a.n)
    """)


def write(project, name, text):
    path = project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def sweeping(deck, project):
    """The ``deck`` of a project whose sweep owners are stopped after the test."""
    yield deck
    from launchdeck.core.sweeps.owner import owner_alive
    from launchdeck.core.sweeps.store import SweepStore

    store = SweepStore(project / ".deck")
    for sweep_id in store.ids():
        pid = store.status(sweep_id).owner_pid
        if pid and owner_alive(store, sweep_id):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def sweep_id_of(result) -> str:
    assert result.returncode == 0, result.out + result.err
    first = result.out.splitlines()[0]
    assert first.startswith("SweepId: "), result.out
    return first.split(": ", 1)[1]


def status(deck, sweep_id):
    return json.loads(deck("sweep", "status", sweep_id, "--json", check=True).out)


def until_over(deck, sweep_id, timeout=300):
    return until(lambda: (s := status(deck, sweep_id))["state"] != "Running" and s,
                 timeout=timeout, what=f"sweep {sweep_id} to end")


def test_a_grid_of_four_runs_every_point_as_a_recorded_rerunnable_run(sweeping, project):
    write(project, "tune.py", TUNE)
    result = sweeping("sweep", "-c", "local", "--grid", "lr=0.01,0.1", "--grid",
                      "layers=1,2", "--maximize", "accuracy", "--detach", "tune.py")
    sweep_id = sweep_id_of(result)
    assert "grid search, 4 trials on local" in result.out
    done = until_over(sweeping, sweep_id)
    assert done["state"] == "Completed", done
    trials = sorted(done["trials"], key=lambda t: t["trial"])
    assert [t["params"] for t in trials] == [{"lr": 0.01, "layers": 1}, {"lr": 0.01, "layers": 2},
                                             {"lr": 0.1, "layers": 1}, {"lr": 0.1, "layers": 2}]
    assert {t["status"] for t in trials} == {"Completed"}
    assert done["best"]["params"] == {"lr": 0.1, "layers": 2} and done["best"]["value"] == 1.02

    runs = sweeping.json("runs", "list", "--sweep", sweep_id)
    assert len(runs) == 4 and len({r["snapshot"] for r in runs}) == 1
    assert {r["sweep_id"] for r in runs} == {sweep_id}
    best = max(runs, key=lambda r: r["metrics"]["accuracy"])
    # the runconfig's arguments first, then the trial's parameters
    assert best["arguments"] == ["--epochs", "5", "--lr", "0.1", "--layers", "2"]
    query = sweeping("runs", "list", "--sweep", sweep_id, "--query",
                     "max_by(@, &metrics.accuracy).run_id", check=True)
    assert query.out.strip() == best["run_id"]
    # an ordinary run: it runs again from its snapshot with its parameters
    again = sweeping("rerun", best["run_id"], check=True)
    assert "trained 0.1 2" in again.out

    text = sweeping("sweep", "status", sweep_id, check=True).out
    assert "Completed (all 4 trials are over)" in text
    assert f"best: trial 3, run #{best['run_number']}" in text
    table = text.splitlines()[text.splitlines().index("") + 1:]
    assert table[0].split() == ["TRIAL", "#", "STATUS", "TARGET", "LR", "LAYERS", "ACCURACY",
                                "STOPPED"]
    assert [row.split()[0] for row in table[1:]] == ["3", "2", "1", "0"]  # best first


def trial_params(deck, sweep_id):
    done = until_over(deck, sweep_id)
    assert done["state"] == "Completed", done
    return [t["params"] for t in sorted(done["trials"], key=lambda t: t["trial"])], done


def test_a_random_sweep_of_six_repeats_with_its_seed_and_env_gives_variables(sweeping,
                                                                             project):
    write(project, "envtune.py", ENV_TUNE)
    args = ["--random", "6", "--param", "lr=loguniform(1e-4,1e-1)", "--param",
            "n=randint(1,5)", "--env", "--maximize", "score", "--detach", "envtune.py"]
    first = sweep_id_of(sweeping("sweep", "-c", "local", "--seed", "42", *args))
    params, done = trial_params(sweeping, first)
    assert len(params) == 6 and len({p["lr"] for p in params}) == 6
    assert all(1e-4 <= p["lr"] <= 1e-1 and 1 <= p["n"] <= 5 for p in params)
    # the values reached the script as environment variables, not arguments
    runs = {r["tags"]["trial"]: r for r in sweeping.json("runs", "list", "--sweep", first)}
    for trial in done["trials"]:
        run = runs[trial["trial"]]
        assert run["metrics"]["seen_lr"] == trial["params"]["lr"]
        assert run["metrics"]["seen_n"] == trial["params"]["n"]
        assert run["arguments"] == ["--epochs", "5"]
    again = sweep_id_of(sweeping("sweep", "-c", "local", "--seed", "42", *args))
    assert trial_params(sweeping, again)[0] == params
    other = sweep_id_of(sweeping("sweep", "-c", "local", "--seed", "43", *args))
    assert trial_params(sweeping, other)[0] != params


def test_a_tpe_sweep_of_six_trials_uses_optuna(sweeping, project):
    write(project, "quadratic.py", QUADRATIC)
    sweep_id = sweep_id_of(sweeping(
        "sweep", "-c", "local", "--search", "tpe", "--trials", "6", "--seed", "3",
        "--param", "x=uniform(-2,2)", "--param", "k=choice(0,1)", "--minimize", "loss",
        "--parallel", "2", "--detach", "quadratic.py"))
    params, done = trial_params(sweeping, sweep_id)
    assert len(params) == 6 and all(-2 <= p["x"] <= 2 and p["k"] in (0, 1) for p in params)
    assert done["search"] == "tpe"
    values = [t["value"] for t in done["trials"]]
    assert done["best"]["value"] == min(values)


def test_tpe_without_optuna_says_how_to_install_it(sweeping, project, tmp_path):
    write(project, "quadratic.py", QUADRATIC)
    blocker = tmp_path / "no_optuna"
    write(blocker, "optuna.py", "raise ImportError('no optuna here')\n")
    sweeping.env["PYTHONPATH"] = str(blocker)
    result = sweeping("sweep", "-c", "local", "--search", "tpe", "--trials", "2",
                      "--param", "x=uniform(0,1)", "--minimize", "loss", "quadratic.py")
    assert result.returncode == 2
    assert "pip install 'launchdeck[sweep]'" in result.err
    assert not (project / ".deck" / "sweeps").exists() or not list(
        (project / ".deck" / "sweeps").iterdir())


def test_median_stopping_cancels_the_trial_built_to_lose(sweeping, project):
    write(project, "race.py", RACE)
    sweep_id = sweep_id_of(sweeping(
        "sweep", "-c", "local", "--grid", "quality=good,bad", "--maximize", "accuracy",
        "--stop", "median", "--parallel", "1", "--detach", "race.py"))
    done = until_over(sweeping, sweep_id, timeout=240)
    assert done["state"] == "Completed"
    by_quality = {t["params"]["quality"]: t for t in done["trials"]}
    assert by_quality["good"]["status"] == "Completed"
    loser = by_quality["bad"]
    assert loser["status"] == "Canceled" and "median rule" in loser["stopped"]
    run = sweeping.json("runs", "show", loser["run_id"])
    assert run["tags"]["stopped"] == loser["stopped"]
    assert "stopped by its sweep: median rule" in run["error"]
    assert done["best"]["params"] == {"quality": "good"}


def held_sweep(deck, project, tmp_path, *flags):
    """A sweep of HOLD one trial at a time, once its trial 0 runs; its id and gate folder."""
    write(project, "hold.py", HOLD)
    gate = tmp_path / "gate"
    gate.mkdir()
    sweep_id = sweep_id_of(deck("sweep", "-c", "local", *flags, "--parallel", "1", "--detach",
                                "hold.py", "--gate", str(gate)))
    until(lambda: [r for r in deck.json("runs", "list", "--sweep", sweep_id)
                   if r["status"] == "Running"], timeout=120, what="trial 0 to run")
    return sweep_id, gate


def test_a_sweep_survives_kill_9_of_its_owner_and_resumes(sweeping, project, tmp_path):
    sweep_id, gate = held_sweep(sweeping, project, tmp_path, "--grid", "n=0,1,2",
                                "--maximize", "score")

    def trials():
        return sweeping.json("runs", "list", "--sweep", sweep_id)

    listed = json.loads(sweeping("sweep", "list", "--json", check=True).out)[0]
    assert listed["owner_alive"]
    os.kill(listed["owner_pid"], signal.SIGKILL)
    until(lambda: not json.loads(sweeping("sweep", "list", "--json", check=True).out)[0][
        "owner_alive"], timeout=60, what="the owner to be gone")
    # the trial is its keeper's: it goes on and completes without the owner
    (gate / "go-0").touch()
    until(lambda: trials()[0]["status"] == "Completed", timeout=120, what="trial 0 to end")
    assert len(trials()) == 1  # nobody started the next trial
    for n in (1, 2):
        (gate / f"go-{n}").touch()
    resumed = sweeping("sweep", "resume", sweep_id, check=True)
    assert "resumed" in resumed.out
    done = until_over(sweeping, sweep_id)
    assert done["state"] == "Completed"
    assert sorted(t["trial"] for t in done["trials"]) == [0, 1, 2]
    assert {t["status"] for t in done["trials"]} == {"Completed"}
    assert done["best"]["params"] == {"n": 2}


def test_cancel_stops_the_running_trials_and_resume_goes_on(sweeping, project, tmp_path):
    sweep_id, gate = held_sweep(sweeping, project, tmp_path, "--grid", "n=0,1")
    canceled = sweeping("sweep", "cancel", sweep_id, check=True)
    assert f"Sweep {sweep_id}: Canceled" in canceled.out
    first = until(lambda: (s := status(sweeping, sweep_id))["trials"][0]["status"] != "Running"
                  and s, timeout=60, what="trial 0 to stop")
    assert first["trials"][0]["status"] == "Canceled"
    assert first["trials"][0]["stopped"] == "the sweep was canceled"
    (gate / "go-1").touch()
    sweeping("sweep", "resume", sweep_id, check=True)
    done = until_over(sweeping, sweep_id)
    assert done["state"] == "Completed"
    assert [(t["trial"], t["status"]) for t in done["trials"]] == [(0, "Canceled"),
                                                                   (1, "Completed")]


def test_a_bad_sweep_file_is_named_by_file_line_and_column(sweeping, project):
    write(project, "tune.py", TUNE)
    write(project, "aml_config/tune.sweep", textwrap.dedent("""\
        # learning rates to try
        search: grid
        parameters:
          lr: uniform(0.1)
        """))
    result = sweeping("sweep", "-c", "local", "-f", "tune", "tune.py")
    assert result.returncode == 2
    assert "aml_config/tune.sweep:4:7: " in result.err and "uniform(0.1)" in result.err
    assert not (project / ".deck" / "sweeps").exists()


def test_a_sweep_file_gives_the_space_and_flags_win(sweeping, project):
    write(project, "tune.py", TUNE)
    write(project, "aml_config/tune.sweep", textwrap.dedent("""\
        # learning rates to try
        parameters:
          lr: [0.01, 0.1]
          layers: [1]
        maximize: accuracy
        """))
    # without --detach, deck follows the sweep to its end and names the best run
    result = sweeping("sweep", "-c", "local", "-f", "tune", "--grid", "layers=3", "tune.py",
                      timeout=300)
    sweep_id = sweep_id_of(result)
    params, done = trial_params(sweeping, sweep_id)
    assert params == [{"lr": 0.01, "layers": 3}, {"lr": 0.1, "layers": 3}]
    assert done["metric"] == "accuracy"
    assert f"Sweep {sweep_id}: Completed (all 2 trials are over)" in result.out
    best = done["best"]
    assert f"Best: trial 1, run #{best['run_number']} {best['run_id']}: 1.03" in result.out


def test_the_goal_ends_a_sweep_and_max_trials_bounds_it(sweeping, project):
    write(project, "count.py", "import sys, deckrun\n"
                               "deckrun.log('score', int(sys.argv[sys.argv.index('--n') + 1]))\n")
    sweep_id = sweep_id_of(sweeping(
        "sweep", "-c", "local", "--grid", "n=0,1,2,3,4,5", "--maximize", "score", "--goal", "2",
        "--parallel", "1", "--detach", "count.py"))
    done = until_over(sweeping, sweep_id)
    assert done["state"] == "Completed" and "goal 2 was reached by trial 2" in done["reason"]
    assert [t["trial"] for t in done["trials"]] == [0, 1, 2]
    bounded = sweep_id_of(sweeping(
        "sweep", "-c", "local", "--random", "6", "--param", "n=randint(0,9)", "--max-trials",
        "2", "--detach", "count.py"))
    done = until_over(sweeping, bounded)
    assert len(done["trials"]) == 2 and done["trials_planned"] == 2


def test_max_duration_ends_the_sweep_and_stops_its_trials(sweeping, project, tmp_path):
    write(project, "hold.py", HOLD)
    sweep_id = sweep_id_of(sweeping(
        "sweep", "-c", "local", "--grid", "n=0,1", "--parallel", "1", "--max-duration", "10s",
        "--detach", "hold.py", "--gate", str(tmp_path)))  # never opened
    done = until_over(sweeping, sweep_id, timeout=120)
    assert done["state"] == "Completed" and "maximum duration" in done["reason"]
    stopped = until(lambda: (s := status(sweeping, sweep_id))["trials"][0]["status"]
                    == "Canceled" and s, timeout=60, what="the trial to stop")
    assert "maximum duration" in stopped["trials"][0]["stopped"]
    assert len(stopped["trials"]) == 1


def fans_out(deck, other: str) -> dict:
    """A grid of four trials over local (one slot) and ``other``, done; its status."""
    from tests.fixtures.docker_engine import CA_BUNDLE

    # The sample's environment (pip: six) may not be built yet on this machine: its build
    # reaches the package index through the test machines' TLS-inspecting proxy.
    deck.env["DECK_BUILD_CA_BUNDLE"] = CA_BUNDLE
    write(deck.project, "tune.py", TUNE)
    compute = deck.project / "aml_config" / "local.compute"
    compute.write_text(compute.read_text() + "\nmaxConcurrentRuns: 1\n")
    sweep_id = sweep_id_of(deck(
        "sweep", "-c", "docker", "--targets", f"local,{other}", "--grid", "lr=0.01,0.1",
        "--grid", "layers=1,2", "--maximize", "accuracy", "--detach", "tune.py",
        timeout=600))
    done = until_over(deck, sweep_id, timeout=900)
    assert done["state"] == "Completed", done
    assert {t["status"] for t in done["trials"]} == {"Completed"}, done
    # local takes one at a time, so the other target got the rest
    targets = [t["target"] for t in sorted(done["trials"], key=lambda t: t["trial"])]
    assert targets[0] == "local" and other in targets, targets
    assert done["best"]["params"] == {"lr": 0.1, "layers": 2}
    return done


@pytest.mark.docker
def test_a_grid_fans_out_over_local_and_docker(sweeping, docker_engine):
    fans_out(sweeping, "docker")


def test_looking_at_a_sweep_whose_owner_died_gives_it_a_new_owner(sweeping, project,
                                                                   tmp_path):
    sweep_id, gate = held_sweep(sweeping, project, tmp_path, "--grid", "n=0,1")
    first = status(sweeping, sweep_id)["owner_pid"]
    os.kill(first, signal.SIGKILL)
    until(lambda: not json.loads(sweeping("sweep", "list", "--json", check=True).out)[0][
        "owner_alive"], timeout=60, what="the owner to be gone")
    # as looking at runs revives their keepers
    text = sweeping("sweep", "status", sweep_id, check=True).out
    assert "owner running" in text
    (gate / "go-0").touch()
    (gate / "go-1").touch()
    done = until_over(sweeping, sweep_id)
    assert done["state"] == "Completed" and len(done["trials"]) == 2
    assert done["owner_pid"] != first


@pytest.mark.docker
@pytest.mark.ssh
def test_one_sweep_across_local_and_the_remote_docker_host(sweeping, remote_deck, home):
    from tests.cli.test_remote_docker import attach

    deck = remote_deck
    attach(deck)
    (home / ".ssh/known_hosts").write_text(deck.server.known_hosts_line())
    done = fans_out(deck, "gpu1")
    # a trial on the remote host: its metrics came back over SSH, its tags are its own
    remote = next(t for t in done["trials"] if t["target"] == "gpu1")
    run = deck.json("runs", "show", remote["run_id"])
    assert run["metrics"]["accuracy"][-1] == remote["value"]
    assert run["tags"]["params"] == remote["params"]
