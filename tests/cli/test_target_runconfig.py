"""`deck target` and `deck runconfig`: files written and edited the way a user expects."""

import yaml


def test_attach_local_in_a_new_folder_then_run(tmp_path, deck):
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "hello.py").write_text("print('hi')\n")
    deck.project = fresh
    deck("target", "attach", "local", "--name", "local", check=True)
    assert (fresh / "aml_config" / "local.compute").is_file()
    rc = yaml.safe_load((fresh / "aml_config" / "local.runconfig").read_text())
    assert rc["Target"] == "local" and rc["ArgumentVector"][0] == "$file"
    assert deck.json("target", "list")[0]["name"] == "local"
    result = deck("submit", "-c", "local", "hello.py")
    assert result.returncode == 0, result.err
    assert "hi" in result.out.splitlines()


def test_attach_refuses_to_overwrite(deck, project):
    before = (project / "aml_config" / "local.compute").read_bytes()
    result = deck("target", "attach", "local", "--name", "local")
    assert result.returncode != 0 and "exists" in result.err
    assert (project / "aml_config" / "local.compute").read_bytes() == before


def test_attach_docker_needs_a_base_image(deck, project):
    result = deck("target", "attach", "docker", "--name", "d2")
    assert result.returncode != 0 and "--base-image" in result.err
    assert not (project / "aml_config" / "d2.compute").exists()


def test_runconfig_create_list_show(deck):
    deck("runconfig", "create", "--name", "fast", "--target", "local", check=True)
    names = [c["name"] for c in deck.json("runconfig", "list")]
    assert names == ["docker", "fast", "local"]
    shown = deck.json("runconfig", "show", "fast")
    assert shown["Target"] == "local" and shown["Framework"] == "Python"
    assert shown["TrackedRun"] is True
    bad = deck("runconfig", "create", "--name", "x", "--target", "nowhere")
    assert bad.returncode != 0 and "nowhere" in bad.err


def test_env_set_and_unset_keep_every_other_byte(deck, project):
    path = project / "aml_config" / "local.runconfig"
    before = path.read_text()
    deck("runconfig", "env", "set", "local", "GREETING=bonjour", check=True)
    after = path.read_text()
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert changed == [('  "GREETING": "hello from local"', '  "GREETING": "bonjour"')]
    deck("runconfig", "env", "set", "local", "NEW_ONE=1", check=True)
    assert deck.json("runconfig", "show", "local")["EnvironmentVariables"] == {
        "LEARNING_RATE": "0.3", "GREETING": "bonjour", "NEW_ONE": "1"}
    deck("runconfig", "env", "unset", "local", "NEW_ONE", check=True)
    deck("runconfig", "env", "set", "local", "GREETING=hello from local", check=True)
    assert path.read_text() == before
    missing = deck("runconfig", "env", "unset", "local", "NOPE")
    assert missing.returncode != 0 and "NOPE" in missing.err
    assert path.read_text() == before


def test_every_command_has_help(deck):
    for args in (["--help"], ["submit", "--help"], ["runs", "list", "--help"],
                 ["runs", "show", "--help"], ["runs", "compare", "--help"], ["logs", "--help"],
                 ["cancel", "--help"], ["target", "attach", "--help"],
                 ["target", "list", "--help"], ["runconfig", "create", "--help"],
                 ["runconfig", "env", "set", "--help"]):
        result = deck(*args)
        assert result.returncode == 0 and "usage: deck" in result.out, args
