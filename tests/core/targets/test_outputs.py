"""Artifacts never lead deck outside the run's folders."""

import os

import pytest

from launchdeck.core.targets.outputs import copy_outputs, list_artifacts


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


SPARSE_SIZE = 64 << 20

ODD_OUTPUTS = """\
import os, socket
os.makedirs("outputs/sub", exist_ok=True)
open("outputs/a.txt", "w").write("same bytes")
os.link("outputs/a.txt", "outputs/sub/b.txt")
with open("outputs/sparse.bin", "wb") as f:
    f.write(b"head")
    f.truncate(%d)
    f.seek(%d - 4)
    f.write(b"tail")
os.mkfifo("outputs/pipe")
socket.socket(socket.AF_UNIX).bind("outputs/sock")
os.symlink("/etc/passwd", "outputs/passwd")
print("wrote", flush=True)
""" % (SPARSE_SIZE, SPARSE_SIZE)


def test_hard_links_sparse_files_and_special_files(tmp_path):
    import socket

    outputs = tmp_path / "outputs"
    outputs.mkdir()
    (outputs / "a.txt").write_text("same")
    os.link(outputs / "a.txt", outputs / "b.txt")
    with open(outputs / "sparse.bin", "wb") as f:
        f.write(b"head")
        f.truncate(SPARSE_SIZE)
    os.mkfifo(outputs / "pipe")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(outputs / "sock"))
    dest = tmp_path / "dest"
    skipped = copy_outputs(outputs, dest)
    sock.close()
    assert (dest / "b.txt").read_text() == "same"
    stored = (dest / "sparse.bin").stat()
    assert stored.st_size == SPARSE_SIZE and stored.st_blocks * 512 < (1 << 20)
    assert (dest / "sparse.bin").read_bytes()[:4] == b"head"
    assert sorted(skipped) == ["pipe: FIFO (named pipe), not a regular file",
                               "sock: socket, not a regular file"]


def odd_outputs_run(deck, runconfig: str) -> tuple[str, dict]:
    (deck.project / "odd.py").write_text(ODD_OUTPUTS)
    result = deck("submit", "-c", runconfig, "odd.py", timeout=300)
    run_id = result.out.splitlines()[0].split(": ")[1]
    assert result.returncode == 0, result.out + result.err
    return run_id, deck.json("runs", "show", run_id)


def assert_odd_outputs_kept(deck, run_id: str, run: dict) -> None:
    outputs = deck.project / ".deck" / "runs" / run_id / "outputs"
    assert run["artifacts"] == ["outputs/a.txt", "outputs/sparse.bin", "outputs/sub/b.txt"]
    assert (outputs / "sub/b.txt").read_text() == "same bytes"
    stored = (outputs / "sparse.bin").stat()
    assert stored.st_size == SPARSE_SIZE and stored.st_blocks * 512 < (1 << 20)
    with open(outputs / "sparse.bin", "rb") as f:
        assert f.read(4) == b"head"
        f.seek(SPARSE_SIZE - 4)
        assert f.read() == b"tail"
    expected = ["outputs: passwd: symbolic link not followed",
                "outputs: pipe: FIFO (named pipe), not a regular file",
                "outputs: sock: socket, not a regular file"]
    assert sorted(run["skipped"]) == expected
    log = (deck.project / ".deck" / "runs" / run_id / "output.log").read_text()
    for line in expected:
        assert log.count("deck: outputs/ not collected: " + line.split(": ", 1)[1]) == 1
    shown = deck("runs", "show", run_id, check=True).out
    assert "skipped:\n" in shown and all(line in shown for line in expected)


def test_local_run_keeps_hard_links_sparse_files_and_lists_what_it_skipped(deck):
    run_id, run = odd_outputs_run(deck, "local")
    assert_odd_outputs_kept(deck, run_id, run)


@pytest.mark.docker
def test_docker_run_keeps_hard_links_sparse_files_and_lists_what_it_skipped(deck,
                                                                            docker_engine):
    (deck.project / "aml_config" / "conda_dependencies.yml").write_text(
        "name: env\ndependencies:\n  - python=3.11\n")
    run_id, run = odd_outputs_run(deck, "docker")
    assert_odd_outputs_kept(deck, run_id, run)


def test_what_a_snapshot_leaves_out_is_in_the_log_and_runs_show(deck, tmp_path):
    project = deck.project
    os.mkfifo(project / "a_pipe")
    os.symlink(tmp_path, project / "outside")
    result = deck("submit", "-c", "local", "train.py", "--epochs", "1", "--sleep", "0")
    assert result.returncode == 0, result.err
    run_id = result.out.splitlines()[0].split(": ")[1]
    run = deck.json("runs", "show", run_id)
    assert sorted(run["skipped"]) == [
        "snapshot: a_pipe: not a regular file; left out",
        f"snapshot: outside: symlink to {tmp_path} points outside the project; left out"]
    assert "deck: snapshot: a_pipe: not a regular file; left out\n" in result.out
    log = (project / ".deck" / "runs" / run_id / "output.log").read_text()
    assert log.count("deck: snapshot: a_pipe") == 1
