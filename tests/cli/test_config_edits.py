"""Concurrent edits of one config file by real `deck` processes: every change lands."""

from __future__ import annotations


def test_ten_concurrent_env_sets_all_land_and_each_says_so(deck, project):
    procs = [deck.popen("runconfig", "env", "set", "local", f"K{n}=V{n}") for n in range(10)]
    results = [(p.wait(timeout=180), *p.communicate()) for p in procs]
    for n, (code, out, err) in enumerate(results):
        assert code == 0, err.decode()
        assert out.decode().startswith(f"Set K{n} in aml_config/local.runconfig"), out
    env = deck.json("runconfig", "show", "local")["EnvironmentVariables"]
    assert {f"K{n}": f"V{n}" for n in range(10)}.items() <= env.items()
    assert env["GREETING"] == "hello from local"  # the file's own variables are still there


def test_a_set_that_changes_nothing_does_not_say_it_wrote(deck, project):
    path = project / "aml_config" / "local.runconfig"
    before = path.stat().st_mtime_ns, path.stat().st_ino
    result = deck("runconfig", "env", "set", "local", "GREETING=hello from local", check=True)
    assert "nothing written" in result.out and not result.out.startswith("Set ")
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == before
