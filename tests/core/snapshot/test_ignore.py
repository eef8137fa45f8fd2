"""gitignore semantics: documented examples, then the verdicts of a real git on many trees."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from launchdeck.core.snapshot.ignore import IgnoreRules, IgnoreStack, parse_line
from launchdeck.core.snapshot.walk import walk_project
from tests.core.snapshot.trees import write_tree

#: Raise to fuzz harder against git (1,500 seeds agreed when this was written).
_SEEDS = int(os.environ.get("DECK_FUZZ_SEEDS", "40"))


def ignored(text: str, path: str, *, is_dir: bool = False) -> bool:
    """Whether ``path`` is excluded by one root ignore file, as a walk sees it (parents too)."""
    stack = IgnoreStack().push("", IgnoreRules.parse(text))
    parts = path.split("/")
    for n in range(1, len(parts)):
        if stack.ignored("/".join(parts[:n]), is_dir=True):
            return True
    return stack.ignored(path, is_dir=is_dir)


@pytest.mark.parametrize("text, path, is_dir, expected", [
    ("*.html", "a/b/index.html", False, True),
    ("/*.c", "cat-file.c", False, True),
    ("/*.c", "mozilla-sha1/sha1.c", False, False),
    ("doc/frotz/", "doc/frotz", True, True),
    ("doc/frotz/", "a/doc/frotz", True, False),
    ("frotz/", "a/frotz", True, True),
    ("frotz/", "a/frotz", False, False),
    ("foo/*", "foo/test.json", False, True),
    ("foo/*", "foo/bar/hello.c", False, True),  # through foo/bar
    ("**/foo", "x/y/foo", False, True),
    ("**/foo/bar", "x/foo/bar", False, True),
    ("abc/**", "abc", True, False),
    ("abc/**", "abc/x/y", False, True),
    ("a/**/b", "a/b", False, True),
    ("a/**/b", "a/x/y/b", False, True),
    ("a/**/b", "a/xb", False, False),
    ("a**b", "axxb", False, True),
    ("a**b", "ax/b", False, False),
    ("*\n!*/\n!*.py", "d/e/run.py", False, False),
    ("*\n!*/\n!*.py", "d/e/run.txt", False, True),
    ("dir/\n!dir/keep", "dir/keep", False, True),  # no re-include under an excluded folder
    ("dir/*\n!dir/keep", "dir/keep", False, False),
    ("\\#x\n#y", "#x", False, True),
    ("\\#x\n#y", "#y", False, False),
    ("\\!x", "!x", False, True),
    ("a \n", "a", False, True),
    ("a\\ ", "a ", False, True),
    ("a\\ ", "a", False, False),
    ("[!a]x", "bx", False, True),
    ("[!a]x", "ax", False, False),
    ("[[:digit:]]*", "7up", False, True),
    ("a[", "a[", False, False),  # an unclosed class matches nothing, as in git
    ("*.log\r\n", "x.log", False, True),  # CRLF files mean what they say (not git's reading)
    ("\ufeff*.log", "x.log", False, True),
])
def test_documented_semantics(text: str, path: str, is_dir: bool, expected: bool) -> None:
    assert ignored(text, path, is_dir=is_dir) is expected


def test_blank_comment_and_bare_slash_lines_are_not_patterns() -> None:
    assert [parse_line(line) for line in ("", "   ", "# c", "/", "!", "!/")] == [None] * 6


def test_last_matching_line_wins_and_deeper_files_win() -> None:
    rules = IgnoreRules.parse("*.txt\n!a.txt\nb/a.txt\n")
    assert rules.match("a.txt", is_dir=False) is False
    assert rules.match("b/a.txt", is_dir=False) is True
    assert rules.match("c.py", is_dir=False) is None
    stack = IgnoreStack().push("", IgnoreRules.parse("*.txt")).push(
        "sub/", IgnoreRules.parse("!keep.txt"))
    assert stack.ignored("sub/keep.txt", is_dir=False) is False
    assert stack.ignored("keep.txt", is_dir=False) is True


def _git_ignored(git, repo: Path, paths: list[str]) -> set[str]:
    out = git(repo, "check-ignore", "--no-index", "--stdin", "-z", stdin="\0".join(paths))
    return {p for p in out.split("\0") if p}


# (ignore file text, files to create): each file's verdict must equal `git check-ignore`.
_CASES = [
    ("*.log", ["a.log", "sub/b.log", "c.txt", "log/x"]),
    ("/*.c", ["cat-file.c", "mozilla-sha1/sha1.c"]),
    ("doc/frotz/", ["doc/frotz/a", "a/doc/frotz/b", "doc/frotz2/x"]),
    ("frotz/", ["frotz/a", "a/frotz/b", "b/frotz"]),
    ("foo", ["foo", "a/foo", "bar/foo/x", "afoo"]),
    ("**/foo", ["foo", "a/foo", "a/b/foo/x", "afoo"]),
    ("**/foo/bar", ["foo/bar", "x/foo/bar", "x/y/foo/bar/z", "foo/baz"]),
    ("abc/**", ["abc/x", "abc/y/z", "abcd/x", "x/abc/y"]),
    ("a/**/b", ["a/b", "a/x/b", "a/x/y/b", "a/xb", "ab"]),
    ("a/**", ["a/b", "a/x/y"]),
    ("a**b\n***/c", ["ab", "axb", "ax/b", "x/aqb", "c", "z/c"]),
    ("*\n!keep.txt", ["a", "keep.txt", "d/keep.txt"]),
    ("/*\n!/foo\n/foo/*\n!/foo/bar", ["x", "foo/a", "foo/bar/c", "y/z"]),
    ("dir/\n!dir/keep", ["dir/keep", "dir/other"]),
    ("dir/*\n!dir/keep", ["dir/keep", "dir/other", "dir/sub/x"]),
    ("\\#hash\n#comment\n\\!bang", ["#hash", "!bang", "comment", "#comment"]),
    ("trail \nesc\\ \ntwo\\\\  ", ["trail", "trail ", "esc ", "esc", "two\\"]),
    ("[ab]x\n[!c]y\n[a-c]z\n[^b]w\n[]]v", ["ax", "bx", "cx", "cy", "dy", "bz", "dz", "aw",
                                            "bw", "]v"]),
    ("?.py", ["a.py", "ab.py", "d/x.py"]),
    ("[[:digit:]]*.csv\n[[:upper:]]", ["1a.csv", "a1.csv", "A", "a"]),
    ("a[\nb[:foo:]\n[z-a]", ["a[", "a", "b[:foo:]", "bf", "m"]),
    ("docs/*.md", ["docs/a.md", "docs/sub/b.md", "x/docs/a.md"]),
    ("/build\nbuild2/", ["build/x", "src/build/y", "build2/x", "src/build2/y"]),
    ("data/**/*.csv", ["data/a.csv", "data/x/b.csv", "data/x/y/c.csv", "data/x/c.txt"]),
    ("*\n!*/\n!*.py", ["a.py", "a.txt", "d/b.py", "d/b.txt"]),
    ("**", ["a", "b/c"]),
    ("a/b/\nq//", ["a/b/c", "x/a/b/c", "q/r"]),
    ("\\[x]\n*.[oa]\nw\\*", ["[x]", "x", "a.o", "b.a", "c.c", "w*", "wz"]),
    ("*.txt\n!/sub/*.txt\nsub/deep/", ["a.txt", "sub/b.txt", "sub/deep/c.txt",
                                       "sub/x/deep/d"]),
]


@pytest.mark.parametrize("text, files", _CASES)
def test_agrees_with_git_check_ignore(git, tmp_path: Path, text: str, files: list[str]) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    write_tree(repo, {**{f: "x" for f in files}, ".gitignore": text})
    expected = _git_ignored(git, repo, files)
    walked = {rel for rel, _ in walk_project(str(repo.resolve())).files}
    assert {f for f in files if f not in walked} == expected


_NAMES = ["a", "b", "ab", "a.py", "b.txt", "c.log", "d", "[x]"]
_SEGMENTS = ["a", "b", "d", "*", "?", "a*", "*.py", "*.log", "[ab]", "[!a]*", "**", "*b",
             "a?", "\\[x]"]


def _random_pattern(rng: random.Random) -> str:
    segs = [rng.choice(_SEGMENTS) for _ in range(rng.choice([1, 1, 2, 2, 3]))]
    text = "/".join(segs)
    if rng.random() < 0.25:
        text = "/" + text
    if rng.random() < 0.25:
        text += "/"
    if rng.random() < 0.3:
        text = "!" + text
    return text


def _random_tree(rng: random.Random) -> dict[str, str]:
    files: dict[str, str] = {}
    dirs: set[str] = set()
    for _ in range(60):
        depth = rng.choice([1, 2, 2, 3, 4])
        parts = [rng.choice(_NAMES) for _ in range(depth)]
        path = "/".join(parts)
        prefixes = {"/".join(parts[:n]) for n in range(1, depth)}
        if path in dirs or path in files or prefixes & set(files):
            continue
        files[path] = "x"
        dirs |= prefixes
    return files


@pytest.mark.parametrize("seed", range(_SEEDS))
def test_walk_agrees_with_git_on_random_trees(git, tmp_path: Path, seed: int) -> None:
    """Nested ignore files, negations and folder rules: the set of files git would add."""
    rng = random.Random(seed)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    files = _random_tree(rng)
    folders = sorted({f.rsplit("/", 1)[0] for f in files if "/" in f})
    holders = [""] + rng.sample(folders, min(len(folders), 3))
    for folder in holders:
        lines = [_random_pattern(rng) for _ in range(rng.randint(1, 5))]
        files[f"{folder}/.gitignore" if folder else ".gitignore"] = "\n".join(lines) + "\n"
    write_tree(repo, files)
    out = git(repo, "ls-files", "--others", "--exclude-standard", "-z")
    expected = {p for p in out.split("\0") if p}
    walked = {rel for rel, _ in walk_project(str(repo.resolve())).files}
    assert walked == expected, {f: files[f] for f in files if f.endswith(".gitignore")}


# -- a run's configs are never ignored ------------------------------------------------------------

def _stack(rules: dict[str, str], keep: frozenset[str] = frozenset()) -> IgnoreStack:
    stack = IgnoreStack(keep=keep)
    for prefix, text in rules.items():
        stack = stack.push(prefix, IgnoreRules.parse(text))
    return stack


def test_the_configs_a_run_needs_are_never_ignored():
    # aml_config/.gitignore of the "ignore everything but the defaults" kind, and worse.
    stack = _stack({"": "aml_config/\n*.yml\n", "aml_config/": "*\n!.gitignore\n"})
    assert not stack.ignored("aml_config", is_dir=True)
    for kept in ("aml_config/local.runconfig", "aml_config/gpu.compute",
                 "aml_config/conda_dependencies.yml", "aml_config/spark_dependencies.yml"):
        assert not stack.ignored(kept, is_dir=False), kept
    # Everything else in the folder keeps its verdict.
    assert stack.ignored("aml_config/notes.txt", is_dir=False)
    assert stack.ignored("aml_config/sub", is_dir=True)
    assert stack.ignored("other.yml", is_dir=False)


def test_kept_files_elsewhere_are_taken_from_an_ignored_folder_alone():
    stack = _stack({"": "envs/\n"}, keep=frozenset({"envs/py/conda.yml"}))
    assert not stack.ignored("envs", is_dir=True) and not stack.ignored("envs/py", is_dir=True)
    assert not stack.ignored("envs/py/conda.yml", is_dir=False)
    assert stack.ignored("envs/py/other.yml", is_dir=False)
    assert stack.ignored("envs/readme.txt", is_dir=False)
    assert stack.ignored("envs/data", is_dir=True)
