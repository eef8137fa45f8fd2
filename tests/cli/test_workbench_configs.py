"""Workbench-era config files through the real `deck`: ignore files, unknown keys, bad files."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.projects import run_id_of

RC = "aml_config/local.runconfig"


def manifest_paths(project, run_id: str) -> set[str]:
    from launchdeck.core.project import Project

    p = Project(project)
    try:
        return {e.path for e in p.store.manifest(p.history.get_run(run_id).snapshot)}
    finally:
        p.history.close()


@pytest.mark.parametrize("ignore_file, text", [
    ("aml_config/.gitignore", "*\n!.gitignore\n"),      # Workbench's "only the defaults" kind
    (".amlignore", "aml_config/\n"),
    (".gitignore", "*.runconfig\n*.compute\n*.yml\n"),
])
def test_ignore_files_never_hide_the_configs_a_run_was_submitted_with(deck, project,
                                                                      ignore_file, text):
    (project / ignore_file).write_text(text)
    (project / "aml_config" / "notes.txt").write_text("not a config\n")
    result = deck("submit", "-c", "local", "train.py")
    assert result.returncode == 0, result.err
    assert "hello from local" in result.out  # the runconfig's variables reached the script
    assert "lacks the configs" not in result.out + result.err
    paths = manifest_paths(project, run_id_of(result.out))
    assert {RC, "aml_config/local.compute", "aml_config/conda_dependencies.yml",
            "aml_config/spark_dependencies.yml"} <= paths
    if ignore_file != ".gitignore":  # other files of an ignored folder stay out
        assert "aml_config/notes.txt" not in paths
    rerun = deck("rerun", run_id_of(result.out))
    assert rerun.returncode == 0 and "hello from local" in rerun.out, rerun.err


def test_a_named_dependency_file_in_an_ignored_folder_is_in_the_snapshot(deck, project):
    (project / "envs").mkdir()
    (project / "envs" / "conda.yml").write_text("name: e\ndependencies:\n  - python\n")
    (project / "envs" / "scratch.txt").write_text("x\n")
    (project / ".amlignore").write_text("envs/\n")
    rc = project / RC
    rc.write_text(rc.read_text().replace('"aml_config/conda_dependencies.yml"',
                                         '"envs/conda.yml"'))
    result = deck("submit", "-c", "local", "train.py")
    assert result.returncode == 0, result.err
    paths = manifest_paths(project, run_id_of(result.out))
    assert "envs/conda.yml" in paths and "envs/scratch.txt" not in paths


def test_unknown_and_workbench_keys_are_reported_by_every_command_and_the_run_goes(deck,
                                                                                 project):
    rc = project / RC
    rc.write_text(rc.read_text() + "UseSampling: true\nTaget: local\n")
    line = len(rc.read_text().splitlines())
    compute = project / "aml_config" / "local.compute"
    compute.write_text(compute.read_text() + "pythonLocaton:\t/usr/bin/python3\n")
    compute_line = len(compute.read_text().splitlines())
    conda = project / "aml_config" / "conda_dependencies.yml"
    conda.write_text(conda.read_text().replace("channels: []", "chanels: []"))
    conda_line = conda.read_text().splitlines().index("chanels: []") + 1
    spark = project / "aml_config" / "spark_dependencies.yml"
    spark.write_text(spark.read_text() + "repositorys: []\n")
    spark_line = len(spark.read_text().splitlines())
    wanted = [f"{RC}:{line - 1}: warning: UseSampling: Workbench key, not supported by deck",
              f"{RC}:{line}: warning: Taget: unknown key, ignored; did you mean Target?"]
    compute_wanted = [
        f"aml_config/local.compute:{compute_line}: warning: a tab separates a key",
        f"aml_config/local.compute:{compute_line}: warning: pythonLocaton: unknown key, "
        "ignored; did you mean pythonLocation?"]
    dependencies_wanted = [
        f"aml_config/conda_dependencies.yml:{conda_line}: warning: chanels: unknown key, "
        "ignored; did you mean channels?",
        f"aml_config/spark_dependencies.yml:{spark_line}: warning: repositorys: unknown key, "
        "ignored; did you mean repositories?"]
    submitted = deck("submit", "-c", "local", "train.py")
    assert submitted.returncode == 0 and "hello from local" in submitted.out
    assert all(w in submitted.err for w in wanted + compute_wanted + dependencies_wanted), \
        submitted.err
    shown = deck("runconfig", "show", "local")
    assert shown.returncode == 0 and all(w in shown.err for w in wanted), shown.err
    checked = deck("target", "check", "local")
    assert checked.returncode == 0 and all(w in checked.err for w in compute_wanted)


def test_one_unreadable_file_never_breaks_a_listing(deck, project):
    (project / "aml_config" / "broken.runconfig").write_text("Target: [\n")
    (project / "aml_config" / "broken.compute").write_text("type: spaceship\n")
    listed = deck("runconfig", "list")
    assert listed.returncode == 0
    assert "local" in listed.out and "broken" in listed.out and "(unreadable)" in listed.out
    assert "aml_config/broken.runconfig:2:1:" in listed.err
    rows = {r["name"]: r for r in deck.json("runconfig", "list")}
    assert rows["local"]["Target"] == "local" and "broken.runconfig:2:1" in rows["broken"]["error"]
    targets = {r["name"]: r for r in deck.json("target", "list")}
    assert targets["local"]["type"] == "local" and "spaceship" in targets["broken"]["error"]


def test_a_config_symlinked_outside_the_project_is_refused_and_never_shown(deck, project,
                                                                         tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:TOPSECRET-CONTENT:/root:/bin/bash\n")
    conda = project / "aml_config" / "conda_dependencies.yml"
    conda.unlink()
    conda.symlink_to(secret)
    result = deck("submit", "-c", "local", "train.py")
    assert result.returncode != 0
    assert "aml_config/conda_dependencies.yml is a symlink" in result.err
    assert "TOPSECRET" not in result.err + result.out and "Traceback" not in result.err
    assert not (project / ".deck" / "runs").exists() or not any(
        (project / ".deck" / "runs").iterdir())


def test_bad_variable_names_are_refused_with_file_and_line(deck, project):
    rc = project / RC
    before = rc.read_bytes()
    for pair in ("BAD KEY=1", "=1", "A\tB=1"):
        result = deck("runconfig", "env", "set", "local", pair)
        assert result.returncode != 0 and "not a valid environment variable name" in result.err
        assert rc.read_bytes() == before
    rc.write_text(rc.read_text().replace('  "GREETING"', '  "BAD KEY": "x"\n  "GREETING"'))
    line = rc.read_text().splitlines().index('  "BAD KEY": "x"') + 1
    result = deck("submit", "-c", "local", "train.py")
    assert result.returncode != 0
    assert f"{RC}:{line}:3: EnvironmentVariables: 'BAD KEY' is not a valid" in result.err


def test_an_environment_no_process_can_take_is_refused_at_submit(deck, project):
    rc = project / RC  # too long for a command line too: written into the file directly
    rc.write_text(rc.read_text().replace('  "GREETING"', f'  "HUGE": "{"x" * 140_000}"\n'
                                                         '  "GREETING"'))
    result = deck("submit", "-c", "local", "train.py")
    assert result.returncode != 0
    assert "HUGE is 140,005 bytes with its value" in result.err
    assert "the run was not queued" in result.err and RC in result.err
    assert json.loads(deck("runs", "list", "--json", check=True).stdout) == []


def test_a_2018_sdk_runconfig_runs_with_its_variables(deck, project):
    (project / "aml_config" / "sdk.runconfig").write_text(
        "script: train.py\narguments: [--epochs, '2']\ntarget: local\nframework: Python\n"
        "environment:\n  environmentVariables:\n    GREETING: hello from the sdk file\n"
        "    LEARNING_RATE: '0.1'\n")
    result = deck("submit", "-c", "sdk", "train.py")
    assert result.returncode == 0, result.err
    assert "hello from the sdk file" in result.out and "training for 2 epochs" in result.out


def test_configs_that_are_links_inside_the_project_reach_the_run(deck, project):
    real = project / "shared_configs"
    (project / "aml_config").rename(real)
    (project / "aml_config").mkdir()
    for path in real.iterdir():
        (project / "aml_config" / path.name).symlink_to(f"../shared_configs/{path.name}")
    (project / ".amlignore").write_text("shared_configs/\n")  # the links' targets ignored too
    result = deck("submit", "-c", "local", "train.py")
    assert result.returncode == 0, result.out + result.err
    assert "hello from local" in result.out and "snapshot" not in result.err
