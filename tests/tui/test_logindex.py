from launchdeck.tui.logindex import BLOCK, LineIndex


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)


def test_lines_and_the_line_being_written(tmp_path):
    log = tmp_path / "output.log"
    write(log, "one\ntwo\nthr")
    index = LineIndex(log)
    assert index.update()
    assert index.line_count == 3
    assert [index.line(i) for i in range(3)] == ["one", "two", "thr"]
    write(log, "ee\nfour\n", "a")
    assert index.update(note_arrival=True)
    assert [index.line(i) for i in range(4)] == ["one", "two", "three", "four"]
    assert index.line_count == 4
    assert not index.update()  # nothing new: no work
    assert index.arrival(3) is not None and index.arrival(0) is None


def test_many_blocks_and_a_growing_tail_keep_numbering(tmp_path):
    log = tmp_path / "output.log"
    write(log, "".join(f"line {i}\n" for i in range(50_000)))
    index = LineIndex(log)
    index.update()
    for step in range(20):  # a followed log: small appends must not fragment the index
        write(log, "".join(f"line {50_000 + step * 10 + i}\n" for i in range(10)), "a")
        index.update()
    assert index.line_count == 50_200
    for n in (0, 1, 12_345, 49_999, 50_000, 50_199):
        assert index.line(n) == f"line {n}"
    assert len(index._starts) <= index.size // (BLOCK // 2) + 2


def test_search_forwards_backwards_and_case(tmp_path):
    log = tmp_path / "output.log"
    write(log, "".join(f"step {i}\n" for i in range(30_000)) + "Traceback: Boom\n")
    index = LineIndex(log)
    index.update()
    assert index.search("step 2999", 0) == 2999
    assert index.search("step 2999", 3000) == 29990
    assert index.search("step 12", 20_000, backwards=True) == 12999
    assert index.search("traceback", 0) == 30_000
    assert index.search("nowhere", 0) is None


def test_long_lines_carriage_returns_and_bad_bytes(tmp_path):
    log = tmp_path / "output.log"
    long = "x" * (5 * 1024 * 1024)
    with open(log, "wb") as f:
        f.write(b"progress 10%\rprogress 100%\n" + long.encode() + b"\n\xff\xfe end\n")
    index = LineIndex(log)
    index.update()
    assert index.line(0) == "progress 100%"
    assert len(index.line(1)) == len(long)
    assert index.line(2).endswith(" end")


def test_a_truncated_file_is_read_again(tmp_path):
    log = tmp_path / "output.log"
    write(log, "a\nb\nc\n")
    index = LineIndex(log)
    index.update()
    write(log, "new\n")
    index.update()
    assert index.line_count == 1 and index.line(0) == "new"


def test_a_missing_file_is_empty(tmp_path):
    index = LineIndex(tmp_path / "output.log")
    assert not index.update()
    assert index.line_count == 0


def test_cached_lines_never_read_the_file(tmp_path):
    log = tmp_path / "output.log"
    write(log, "".join(f"line {i}\n" for i in range(50_000)) + "half a li")
    index = LineIndex(log)
    index.update()
    assert index.cached_line(40_000) is None  # not read yet: the caller has it loaded
    assert index.cached_line(50_000) == "half a li"  # the line being written is in memory
    index.load(39_990, 40_010)
    log.unlink()  # from here on, only what load() read can be had
    assert [index.cached_line(n) for n in (39_990, 40_000, 40_009)] == [
        "line 39990", "line 40000", "line 40009"]
