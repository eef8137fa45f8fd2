"""Following a growing file without an event loop, as `deck submit` copies a run's log."""

from launchdeck.core import filetail


def test_follow_blocking_reads_to_the_end_including_bytes_written_as_the_writer_ends(tmp_path):
    log = tmp_path / "output.log"
    log.write_bytes(b"first\n")
    calls = []

    def finished() -> bool:
        calls.append(1)
        with open(log, "ab") as f:  # the writer keeps writing until it ends
            f.write(f"line {len(calls)}\n".encode())
        return len(calls) == 3

    seen = b"".join(filetail.follow_blocking(log, 0, finished, max_poll=0.01))
    assert seen == b"first\nline 1\nline 2\nline 3\n"


def test_follow_blocking_waits_for_a_log_that_does_not_exist_yet(tmp_path):
    log = tmp_path / "output.log"
    calls = []

    def finished() -> bool:
        calls.append(1)
        if len(calls) == 2:
            log.write_bytes(b"late\n")
        return len(calls) >= 3

    assert b"".join(filetail.follow_blocking(log, 0, finished, max_poll=0.01)) == b"late\n"
    assert b"".join(filetail.follow_blocking(tmp_path / "never", 0, lambda: True)) == b""
