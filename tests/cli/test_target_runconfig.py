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


def answer_on_a_terminal(deck, answer, *args):
    """Run deck with a terminal as stdin (so it asks), typing ``answer``."""
    import os
    import subprocess

    main, side = os.openpty()
    try:
        os.write(main, answer.encode() + b"\n")
        done = subprocess.run(deck.argv(*args), cwd=deck.project, env=deck.env, stdin=side,
                              capture_output=True, timeout=60)
    finally:
        os.close(main)
        os.close(side)
    done.out, done.err = done.stdout.decode(), done.stderr.decode()
    return done


def test_runconfig_delete_asks_first(deck, project):
    path = project / "aml_config" / "docker.runconfig"
    kept = answer_on_a_terminal(deck, "n", "runconfig", "delete", "docker")
    assert "Delete aml_config/docker.runconfig? [y/N]" in kept.err
    assert kept.returncode == 1 and path.is_file()
    gone = answer_on_a_terminal(deck, "y", "runconfig", "delete", "docker")
    assert gone.returncode == 0, gone.err
    assert not path.exists()
    assert [c["name"] for c in deck.json("runconfig", "list")] == ["local"]
    missing = deck("runconfig", "delete", "docker", "--yes")
    assert missing.returncode == 2 and "no run configuration 'docker'" in missing.err
    # no terminal and no --yes: nothing is deleted
    unasked = deck("runconfig", "delete", "local")
    assert unasked.returncode == 2 and "--yes" in unasked.err
    assert (project / "aml_config" / "local.runconfig").is_file()


def test_target_detach_refused_while_another_runconfig_uses_it(deck, project):
    config = project / "aml_config"
    deck("runconfig", "create", "--name", "nightly", "--target", "docker", check=True)
    refused = deck("target", "detach", "docker", "--yes")
    assert refused.returncode == 2 and "nightly.runconfig" in refused.err
    assert (config / "docker.compute").is_file() and (config / "docker.runconfig").is_file()
    deck("target", "detach", "docker", "--force", "--yes", check=True)
    assert not (config / "docker.compute").exists()
    assert not (config / "docker.runconfig").exists()  # the pair attach wrote
    assert (config / "nightly.runconfig").is_file()
    assert [t["name"] for t in deck.json("target", "list")] == ["local"]


def test_target_detach_of_an_unused_target(deck, project):
    deck("target", "attach", "docker", "--name", "spare", "--base-image", "python:3.11",
         check=True)
    deck("target", "detach", "spare", "--yes", check=True)
    assert not (project / "aml_config" / "spare.compute").exists()
    assert not (project / "aml_config" / "spare.runconfig").exists()
    missing = deck("target", "detach", "spare", "--yes")
    assert missing.returncode == 2 and "no compute target 'spare'" in missing.err
