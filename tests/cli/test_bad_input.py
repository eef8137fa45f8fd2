"""Bad input gets one clear line naming the file, line and column, and changes nothing."""

import hashlib

import pytest


def tree_digest(project):
    """Every file of the project (aml_config and history included) as one digest."""
    digest = hashlib.sha256()
    for path in sorted(project.rglob("*")):
        if path.is_file() and "-wal" not in path.name and "-shm" not in path.name:
            digest.update(str(path.relative_to(project)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def runs_recorded(deck):
    if not (deck.project / ".deck" / "history.db").exists():
        return 0
    return len(deck.json("runs", "list"))


def assert_clean_error(result, *needles):
    assert result.returncode != 0
    assert "Traceback" not in result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    for needle in needles:
        assert needle in lines[0], lines[0]


def edit(project, name, old, new):
    path = project / "aml_config" / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def check_nothing_changed(deck, project, *args, needles):
    before = tree_digest(project)
    result = deck(*args)
    assert_clean_error(result, *needles)
    assert tree_digest(project) == before
    return result


def test_missing_runconfig(deck, project):
    check_nothing_changed(deck, project, "submit", "-c", "nope", "train.py",
                          needles=["nope", "local"])


def test_runconfig_that_does_not_parse(deck, project):
    edit(project, "local.runconfig", '"Target": "local"', '"Target": [local')
    check_nothing_changed(deck, project, "submit", "-c", "local", "train.py",
                          needles=["local.runconfig:"])


def test_compute_that_does_not_parse(deck, project):
    edit(project, "local.compute", 'type: "local"', 'type: "local\n  - x: [')
    check_nothing_changed(deck, project, "submit", "-c", "local", "train.py",
                          needles=["local.compute:"])


def test_runconfig_naming_a_missing_target(deck, project):
    edit(project, "local.runconfig", '"Target": "local"', '"Target": "gpu9"')
    check_nothing_changed(deck, project, "submit", "-c", "local", "train.py",
                          needles=["local.runconfig", "gpu9"])


def test_environment_variables_as_a_list(deck, project):
    edit(project, "local.runconfig",
         '"EnvironmentVariables":\n  "LEARNING_RATE": "0.3"\n  "GREETING": "hello from local"',
         '"EnvironmentVariables":\n  - "LEARNING_RATE=0.3"')
    result = check_nothing_changed(deck, project, "submit", "-c", "local", "train.py",
                                   needles=["local.runconfig:", "EnvironmentVariables"])
    assert runs_recorded(deck) == 0
    # and the position points at the list
    position = result.err.split("local.runconfig:")[1].split(":")[0]
    assert position.isdigit()


@pytest.mark.parametrize("name", ['"A=B"', '"A\\0B"', '""'])
def test_env_var_names_with_equals_or_nul_or_empty(deck, project, name):
    edit(project, "local.runconfig", '"GREETING":', f'{name}:')
    check_nothing_changed(deck, project, "submit", "-c", "local", "train.py",
                          needles=["local.runconfig:"])


def test_env_set_refuses_a_bad_name_and_writes_nothing(deck, project):
    check_nothing_changed(deck, project, "runconfig", "env", "set", "local", "=value",
                          needles=[])


def test_script_outside_the_project(deck, project, tmp_path):
    outside = tmp_path / "elsewhere.py"
    outside.write_text("print('no')\n")
    check_nothing_changed(deck, project, "submit", "-c", "local", str(outside),
                          needles=["outside the project"])
    check_nothing_changed(deck, project, "submit", "-c", "local", "../elsewhere.py",
                          needles=["outside the project"])


def test_missing_script(deck, project):
    check_nothing_changed(deck, project, "submit", "-c", "local", "nothere.py",
                          needles=["nothere.py"])


def test_azure_secret_reference_says_what_to_use_instead(deck, project):
    path = project / "aml_config" / "local.compute"
    path.write_text(path.read_text() + 'password: "AzureMlSecret=abc123"\n')
    result = check_nothing_changed(deck, project, "submit", "-c", "local", "train.py",
                                   needles=["local.compute:", "AzureMlSecret"])
    assert "key" in result.err.lower()


def test_outside_any_project(deck, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = deck("--project", str(empty), "runs", "list")
    assert_clean_error(result, "not inside a project")


def test_unknown_run_id(deck):
    assert_clean_error(deck("runs", "show", "doesnotexist"), "doesnotexist")
    assert_clean_error(deck("logs", "doesnotexist"), "doesnotexist")
    assert_clean_error(deck("cancel", "doesnotexist"), "doesnotexist")


def test_runconfig_naming_a_missing_conda_file(deck, project):
    edit(project, "local.runconfig", '"aml_config/conda_dependencies.yml"', '"env/missing.yml"')
    check_nothing_changed(deck, project, "submit", "-c", "local", "train.py",
                          needles=["local.runconfig:", "env/missing.yml"])
