from launchdeck.tui.keys import keymap_path, load_keymap


def test_keys_file_maps_ids_and_reports_problems(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    path = keymap_path()
    assert path == tmp_path / "launchdeck" / "keys.toml"
    path.parent.mkdir()
    path.write_text('[keys]\n"runs.cancel" = "x"\n"app.goto" = ["colon", "g"]\n'
                    '"no.such" = "z"\n"runs.submit" = 3\n')
    keymap, problems = load_keymap(path, {"runs.cancel", "app.goto", "runs.submit"})
    assert keymap == {"runs.cancel": "x", "app.goto": "colon,g"}
    assert len(problems) == 2 and "no.such" in problems[0] and "runs.submit" in problems[1]


def test_missing_and_broken_files(tmp_path):
    assert load_keymap(tmp_path / "none.toml", set()) == ({}, [])
    bad = tmp_path / "keys.toml"
    bad.write_text("[keys\n")
    keymap, problems = load_keymap(bad, set())
    assert keymap == {} and "default keys" in problems[0]
