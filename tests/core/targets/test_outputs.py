"""Artifacts never lead deck outside the run's folders."""

import os

from core.targets.outputs import copy_outputs, list_artifacts


def test_links_out_of_outputs_are_not_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not copy")
    outputs = tmp_path / "work" / "outputs"
    (outputs / "sub").mkdir(parents=True)
    (outputs / "model.bin").write_bytes(b"\x00\x01")
    (outputs / "sub" / "notes.txt").write_text("kept")
    os.symlink(secret, outputs / "leak.txt")
    os.symlink(tmp_path, outputs / "whole_dir")
    os.symlink("../../secret.txt", outputs / "sub" / "relative_leak")
    dest = tmp_path / "history" / "outputs"
    skipped = copy_outputs(outputs, dest)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == [
        "model.bin", "sub/notes.txt"]
    assert len(skipped) == 3
    assert list_artifacts(dest) == [("outputs/model.bin", 2), ("outputs/sub/notes.txt", 4)]


def test_outputs_folder_that_is_itself_a_link_is_ignored(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x").write_text("x")
    work = tmp_path / "work"
    work.mkdir()
    os.symlink(tmp_path / "elsewhere", work / "outputs")
    dest = tmp_path / "dest"
    copy_outputs(work / "outputs", dest)
    assert not dest.exists()


def test_a_run_that_links_outside_keeps_only_its_own_files(deck, project):
    (project / "sneaky.py").write_text(
        "import os\nos.makedirs('outputs', exist_ok=True)\n"
        "os.symlink('/etc/passwd', 'outputs/passwd')\n"
        "open('outputs/result.txt', 'w').write('ok')\n")
    result = deck("submit", "-c", "local", "sneaky.py")
    assert result.returncode == 0, result.err
    run_id = result.out.splitlines()[0].split(": ")[1]
    assert deck.json("runs", "show", run_id)["artifacts"] == ["outputs/result.txt"]
    assert not (project / ".deck" / "runs" / run_id / "outputs" / "passwd").exists()
