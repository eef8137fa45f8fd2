"""Round-trip documents: positions in errors, edits that touch one entry, atomic saves."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml as pyyaml  # YAML 1.1, as Workbench-era tools read these files

from launchdeck.core.config.yamlio import load_document, new_document
from launchdeck.core.errors import ConfigError
from tests.core.config.conftest import FILES, STYLES, added_lines, changed_lines, write


def fails(path, needle: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_document(path)
    assert needle in str(info.value)
    return str(info.value)


# -- loading ------------------------------------------------------------------------------------

@pytest.mark.parametrize("style", STYLES)
def test_every_workbench_file_loads_and_saving_unchanged_writes_nothing(style, tmp_path):
    for source in sorted((FILES / style).iterdir()):
        if source.suffix == ".md":
            continue
        path = tmp_path / source.name
        path.write_bytes(source.read_bytes())
        before = os.stat(path)
        doc = load_document(path)
        assert doc.data, source
        assert doc.save() is False and not doc.changed
        assert path.read_bytes() == source.read_bytes()
        assert os.stat(path).st_mtime_ns == before.st_mtime_ns


def test_parse_error_names_file_line_column_and_problem(in_tmp):
    write(in_tmp / "aml_config/local.runconfig", "EnvironmentVariables:\n  A: 1\n  B: 2\n  - c\n")
    message = fails("aml_config/local.runconfig", "")
    assert message == "aml_config/local.runconfig:4:3: expected <block end>, but found '-'"


def test_duplicate_key_is_an_error_at_the_second_one(in_tmp):
    write(in_tmp / "x.yml", "A: 1\nB: 2\nA: 3\n")
    assert fails("x.yml", "x.yml:3:1:").count("duplicate key") == 1


def test_top_level_must_be_a_map(in_tmp):
    write(in_tmp / "x.yml", "- a\n- b\n")
    assert fails("x.yml", "x.yml:1:1:").endswith("must be a map of key: value lines, got a list")


def test_empty_and_comment_only_files_are_empty_maps(in_tmp):
    assert load_document(write(in_tmp / "e.yml", "")).data == {}
    assert load_document(write(in_tmp / "c.yml", "# nothing yet\n")).data == {}


def test_missing_unreadable_and_non_utf8_files(in_tmp):
    fails("nope.yml", "nope.yml: no such file")
    (in_tmp / "bin.yml").write_bytes(b"A: 1\nB: \xff\xfe\n")
    fails("bin.yml", "bin.yml:2: not UTF-8 text (byte 0xff)")
    fails(in_tmp, "cannot read")


def test_messages_outside_the_current_folder_use_the_absolute_path(tmp_path, monkeypatch):
    write(tmp_path / "a" / "x.yml", "A: [\n")
    monkeypatch.chdir(tmp_path / "a")
    fails(tmp_path / "a" / "x.yml", "x.yml:2:1:")
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "b")
    fails(tmp_path / "a" / "x.yml", f"{tmp_path / 'a' / 'x.yml'}:2:1:")


def test_error_helpers_point_at_keys_values_and_items(in_tmp):
    doc = load_document(write(in_tmp / "x.yml", "A:\n  - 1\n  - [2]\nB:   true\nC:\nD: x\n"))
    assert str(doc.error("bad", doc.data, "B")) == "x.yml:4:6: bad"
    assert str(doc.error("bad", doc.data, "B", part="key")) == "x.yml:4:1: bad"
    assert str(doc.error("bad", doc.data["A"], 1)) == "x.yml:3:5: bad"
    assert str(doc.error("bad", doc.data, "C")) == "x.yml:5:1: bad"  # empty value: at its key
    assert str(doc.error("bad")) == "x.yml: bad"


def test_source_text_keeps_numbers_as_written(in_tmp):
    doc = load_document(write(in_tmp / "x.yml", "A: 007  # c\nB: 1.50\nC: [0.10, 2e3]\nD: True\n"))
    assert doc.source_text(doc.data, "A") == "007"
    assert doc.source_text(doc.data, "B") == "1.50"
    assert [doc.source_text(doc.data["C"], i) for i in (0, 1)] == ["0.10", "2e3"]
    assert doc.source_text(doc.data, "D") == "True"


def test_importing_config_modules_pulls_in_neither_ruamel_nor_textual():
    code = ("import sys, launchdeck.core.config.runconfig, launchdeck.core.config.compute, "
            "launchdeck.core.config.conda, launchdeck.core.config.spark, "
            "launchdeck.core.config.secrets\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'ruamel', 'textual'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[3], check=True).stdout
    assert out.strip() == "[]"


# -- edits --------------------------------------------------------------------------------------

QUOTED = '''# Defines the compute target
"type": "remotedocker"
# The IP address
"address": "10.0.0.4"   # the lab box
'single': 'x'
"sharedVolumes": true
'''


def test_replacing_a_value_keeps_its_quotes_and_every_other_byte(in_tmp):
    path = write(in_tmp / "t.compute", QUOTED)
    doc = load_document(path)
    doc.set("address", "lab.example.com")
    doc.set("single", "it's")
    assert doc.save() is True
    after = path.read_text()
    assert changed_lines(QUOTED, after) == [
        ('"address": "10.0.0.4"   # the lab box', '"address": "lab.example.com"   # the lab box'),
        ("'single': 'x'", "'single': 'it''s'")]
    assert load_document(path).data["single"] == "it's"


def test_new_keys_follow_their_siblings_quoting(in_tmp):
    path = write(in_tmp / "t.compute", QUOTED)
    doc = load_document(path)
    doc.set("username", "vmadmin")
    doc.set("port", 2222)
    doc.save()
    assert added_lines(QUOTED, path.read_text()) == ['"username": "vmadmin"', '"port": 2222']


PLAIN = """ArgumentVector:
- $file
EnvironmentVariables:
  A: one    # first
# The framework
Framework: Python
Other: null # kept
TrackedRun: True
# end
"""


def test_plain_file_edits_touch_one_line(in_tmp):
    path = write(in_tmp / "p.runconfig", PLAIN)
    doc = load_document(path)
    doc.set(("EnvironmentVariables", "A"), "two")
    doc.set("Framework", "PySpark")
    doc.save()
    assert changed_lines(PLAIN, path.read_text()) == [
        ("  A: one    # first", "  A: two    # first"), ("Framework: Python", "Framework: PySpark")]


def test_a_new_entry_goes_after_the_last_one_before_the_next_comment(in_tmp):
    path = write(in_tmp / "p.runconfig", PLAIN)
    doc = load_document(path)
    doc.set(("EnvironmentVariables", "B"), "b")
    doc.set("New", "new")
    doc.save()
    after = path.read_text()
    assert added_lines(PLAIN, after) == ["  B: b", "New: new"]
    assert "  B: b\n# The framework\n" in after and "TrackedRun: True\nNew: new\n# end\n" in after


def test_null_becomes_a_map_keeping_its_comment(in_tmp):
    path = write(in_tmp / "p.runconfig", PLAIN)
    doc = load_document(path)
    doc.set(("Other", "X"), "1")
    doc.save()
    after = path.read_text()
    assert "Other: # kept\n  X: \"1\"\nTrackedRun: True\n" in after
    assert after.replace("Other: # kept\n  X: \"1\"\n", "Other: null # kept\n") == PLAIN


def test_delete_removes_exactly_the_entry_and_an_emptied_map_becomes_braces(in_tmp):
    path = write(in_tmp / "p.runconfig", PLAIN)
    doc = load_document(path)
    doc.delete("Other")
    assert doc.text == PLAIN.replace("Other: null # kept\n", "")
    doc.delete(("EnvironmentVariables", "A"))
    doc.save()
    assert path.read_text() == PLAIN.replace("Other: null # kept\n", "").replace(
        "EnvironmentVariables:\n  A: one    # first\n", "EnvironmentVariables: {}\n")
    assert load_document(path).data["EnvironmentVariables"] == {}


def test_delete_of_a_missing_key_is_an_error_and_changes_nothing(in_tmp):
    path = write(in_tmp / "p.runconfig", PLAIN)
    doc = load_document(path)
    with pytest.raises(ConfigError, match="EnvironmentVariables.NOPE is not in the file"):
        doc.delete(("EnvironmentVariables", "NOPE"))
    assert doc.text == PLAIN and not doc.changed


def test_edit_then_undo_gives_back_the_same_bytes(in_tmp):
    path = write(in_tmp / "p.runconfig", PLAIN)
    doc = load_document(path)
    doc.set(("EnvironmentVariables", "B"), "b")
    doc.set("TrackedRun", False)
    doc.delete(("EnvironmentVariables", "B"))
    doc.set("TrackedRun", True)
    # "True" came back as "true": that line was edited; nothing else was.
    assert changed_lines(PLAIN, doc.text) == [("TrackedRun: True", "TrackedRun: true")]


def test_flow_maps_are_edited_in_place(in_tmp):
    path = write(in_tmp / "f.yml", "A: {x: 1, y: 2}  # c\nB: {}\n")
    doc = load_document(path)
    doc.set(("A", "z"), "3")
    doc.delete(("A", "x"))
    doc.set(("B", "k"), "v")
    assert doc.text == 'A: {y: 2, z: "3"}  # c\nB:\n  k: v\n'


@pytest.mark.parametrize("seq_indent", ["", "  "])
def test_new_lists_and_maps_copy_the_files_indentation(in_tmp, seq_indent):
    text = f"Deps:\n{seq_indent}- a\nMap:\n    k: v\nArgs: null\nEnv:\n"
    path = write(in_tmp / "i.yml", text)
    doc = load_document(path)
    doc.set("Args", ["$file", "--epochs", "3"])
    doc.set(("Env", "A"), "x")
    assert doc.text == (f"Deps:\n{seq_indent}- a\nMap:\n    k: v\nArgs:\n{seq_indent}- $file\n"
                        f"{seq_indent}- --epochs\n{seq_indent}- \"3\"\nEnv:\n    A: x\n")


def test_replacing_a_list_keeps_comments_around_it(in_tmp):
    text = "# args\nArgumentVector:  # the vector\n  - $file\n  - old\n# next\nTarget: local\n"
    doc = load_document(write(in_tmp / "l.yml", text))
    doc.set("ArgumentVector", ["$file", "new"])
    assert doc.text == text.replace("  - old\n", "  - new\n")


def test_crlf_bom_and_missing_final_newline_are_kept(in_tmp):
    path = in_tmp / "w.runconfig"
    original = "\ufeff# from Windows\r\nTarget: local\r\nEnvironmentVariables:\r\n  A: a".encode()
    path.write_bytes(original)
    doc = load_document(path)
    doc.set(("EnvironmentVariables", "A"), "b")
    doc.set(("EnvironmentVariables", "C"), "c")
    doc.save()
    assert path.read_bytes() == (
        "\ufeff# from Windows\r\nTarget: local\r\nEnvironmentVariables:\r\n  A: b\r\n  C: c\r\n"
    ).encode()


def test_setting_into_an_empty_or_comment_only_file(in_tmp):
    path = write(in_tmp / "c.yml", "# header kept")
    doc = load_document(path)
    doc.set(("EnvironmentVariables", "A"), "1")
    doc.save()
    assert path.read_text() == '# header kept\nEnvironmentVariables:\n  A: "1"\n'


def test_setting_below_a_text_value_is_refused(in_tmp):
    path = write(in_tmp / "p.yml", "A: text\n")
    doc = load_document(path)
    with pytest.raises(ConfigError, match="cannot change A.B: A is not a map"):
        doc.set(("A", "B"), "x")
    assert doc.text == "A: text\n"


NASTY = ['say "hi"', "it's", "$(rm -rf ~)", "`id`", "line1\nline2", "trailing\n", "é漢字🙂",
         "007", "0x1F", "1:20", "1_000", "yes", "No", "on", "off", "y", "true", "null", "~", "",
         " lead", "trail ", "a: b", "a #b", "#x", "- x", "--epochs", "[x]", "{x}", "@x", "%x",
         "*x", "&x", "!x", "|x", ">x", "?x", "x,y", "C:\\path", "a\\nb", "tab\there", "nul\0x",
         "\u2028", "\ufeffbom", "\x7f", "---", "...", "=", "<<", ".inf", "2017-01-01",
         "very long " * 40]


@pytest.mark.parametrize("value", NASTY, ids=range(len(NASTY)))
def test_any_text_value_round_trips_exactly(in_tmp, value):
    path = write(in_tmp / "n.yml", 'Env:\n  A: "x"\nKeep: 1  # c\n')
    doc = load_document(path)
    doc.set(("Env", "NEW"), value)
    doc.set(("Env", "A"), value)
    doc.save()
    text = path.read_text(encoding="utf-8")
    assert text.endswith("Keep: 1  # c\n") and text.count("\n") == 4  # one line per entry
    assert load_document(path).data["Env"] == {"A": value, "NEW": value}
    assert pyyaml.safe_load(text)["Env"] == {"A": value, "NEW": value}


# -- saving -------------------------------------------------------------------------------------

def test_save_is_atomic_keeps_mode_and_leaves_no_temp_files(in_tmp):
    path = write(in_tmp / "aml_config" / "x.yml", "A: 1\n")
    path.chmod(0o640)
    doc = load_document(path)
    doc.set("A", 2)
    inode = path.stat().st_ino
    assert doc.save() is True
    assert path.read_text() == "A: 2\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.stat().st_ino != inode  # replaced by rename, never truncated in place
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.yml"]


def test_a_failed_write_leaves_the_file_and_no_temp_behind(in_tmp, monkeypatch):
    path = write(in_tmp / "x.yml", "A: 1\n")
    doc = load_document(path)
    doc.set("A", 2)

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(ConfigError, match="x.yml: cannot write: No space left on device"):
        doc.save()
    assert path.read_text() == "A: 1\n"
    assert sorted(p.name for p in in_tmp.iterdir()) == ["x.yml"]


def test_a_symlinked_config_stays_a_symlink(in_tmp):
    real = write(in_tmp / "shared" / "x.yml", "A: 1\n")
    link = in_tmp / "x.yml"
    link.symlink_to(real)
    doc = load_document(link)
    doc.set("A", 2)
    doc.save()
    assert link.is_symlink() and real.read_text() == "A: 2\n"


def test_a_file_changed_on_disk_since_loading_is_not_overwritten(in_tmp):
    path = write(in_tmp / "x.yml", "A: 1\n")
    doc = load_document(path)
    doc.set("A", 2)
    path.write_text("A: 1\nB: edited in vim\n")
    with pytest.raises(ConfigError, match="changed on disk since it was read"):
        doc.save()
    assert path.read_text() == "A: 1\nB: edited in vim\n"
    assert doc.save(force=True) and path.read_text() == "A: 2\n"


def test_new_document_writes_comments_and_never_clobbers(in_tmp):
    path = in_tmp / "n.compute"
    doc = new_document(path, {"type": "docker", "sharedVolumes": True, "port": 22},
                       "Defines the compute target\n\nsecond paragraph",
                       key_comments={"type": "The type", "port": "The SSH port"})
    assert not path.exists()
    assert doc.save() is True
    assert path.read_text() == ("# Defines the compute target\n#\n# second paragraph\n"
                                "# The type\ntype: docker\nsharedVolumes: true\n"
                                "# The SSH port\nport: 22\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()
    again = new_document(path, {"type": "local"})
    with pytest.raises(ConfigError, match="n.compute: already exists; nothing was written"):
        again.save()
    assert "docker" in path.read_text()
    assert again.save(force=True) and path.read_text() == "type: local\n"
    assert sorted(p.name for p in in_tmp.iterdir()) == ["n.compute"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_an_edit_that_would_break_the_file_is_refused(in_tmp):
    text = "Env:\n  A: &shared value\n  B: *shared\n"
    doc = load_document(write(in_tmp / "a.yml", text))
    with pytest.raises(ConfigError, match="cannot change Env.A: the file would no longer parse "
                                          r"\(found undefined alias 'shared'\); nothing was"):
        doc.set(("Env", "A"), "new")
    assert doc.text == text and doc.save() is False


def test_setting_an_equal_value_leaves_its_spelling_alone(in_tmp):
    doc = load_document(write(in_tmp / "e.yml", "A: True\nB: '1'\nC: 007\n"))
    doc.set("A", True)
    doc.set("B", "1")
    assert not doc.changed
    doc.set("C", "007")  # the text "007" is not the number 007
    assert doc.text == 'A: True\nB: \'1\'\nC: "007"\n'


def test_documents_load_safely_from_many_threads(in_tmp):
    from concurrent.futures import ThreadPoolExecutor

    paths = [write(in_tmp / f"{i}.yml", f"A: {i}\nB: [x, y]\nC: {{k: v}}\n") for i in range(8)]

    def load(i: int) -> int:
        return load_document(paths[i % 8]).data["A"]

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(load, range(400))) == [i % 8 for i in range(400)]


def test_the_package_exports_every_public_name():
    from launchdeck.core import config

    for name in config.__all__:
        assert getattr(config, name) is not None, name
    with pytest.raises(AttributeError):
        config.nothing_here  # noqa: B018


@pytest.mark.parametrize("value", [0.5, 1e20, -2.5e-7, float("inf"), 3, -1, True, None])
def test_numbers_booleans_and_null_are_written_so_both_yaml_versions_agree(in_tmp, value):
    path = write(in_tmp / "v.yml", "A: x\n")
    doc = load_document(path)
    doc.set("A", value)
    doc.save()
    assert load_document(path).data["A"] == value
    assert pyyaml.safe_load(path.read_text())["A"] == value
