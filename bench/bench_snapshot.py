"""Snapshot speed on a 1,000-file, 50 MB project (goal: an unchanged second snapshot <= 0.2 s).

Times, in one run on one generated tree:
1. the first snapshot into an empty store (hashes and stores every byte; the files were just
   written, so they are read from the page cache);
2. the median of 7 second snapshots of the unchanged tree (stat cache hits only);
3. materializing the snapshot into a new folder (what the local target does per run);
4. a snapshot after one file changed;
5. baselines: ``tar -cf /dev/null`` of the tree (GNU tar skips reading file contents when the
   archive is /dev/null, so this is the cost of walking and stat'ing the tree: the floor for an
   unchanged snapshot), and ``git add -A`` into a fresh repository, first and again unchanged.

Benchmarks print; they never assert timing. Run: python bench/bench_snapshot.py
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import median, report  # noqa: E402
from launchdeck.core.snapshot import ContentStore  # noqa: E402

FILES = 1000
TOTAL = 50 * 1000 * 1000


def generate(root: Path, *, seed: int = 7) -> None:
    """1,000 files (one is a .gitignore), 50 MB: many small ones, some medium, a few large."""
    rng = random.Random(seed)
    folders = [""]
    for _ in range(60):
        parent = rng.choice(folders)
        if parent.count("/") < 4:
            folders.append(f"{parent}{rng.choice(['src', 'data', 'lib', 'nb', 'cfg'])}"
                           f"{len(folders)}/")
    sizes = ([rng.randint(200, 8000) for _ in range(850)]
             + [rng.randint(50_000, 250_000) for _ in range(130)]
             + [rng.randint(500_000, 1_500_000) for _ in range(FILES - 981)])
    sizes[-1] += TOTAL - sum(sizes)  # exactly 50 MB in all
    assert sizes[-1] > 0
    for n, size in enumerate(sizes):
        path = root / f"{rng.choice(folders)}file{n:04d}{rng.choice(['.py', '.csv', '.bin'])}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(size))
    (root / ".gitignore").write_text("*.tmp\n__pycache__/\n/outputs/\n")


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def run_quiet(argv: list[str], cwd: Path) -> None:
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="deck-bench-snapshot-") as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        generate(project)
        store = ContentStore(project / ".deck" / "store")

        first_s, first = timed(lambda: store.snapshot(project))
        print(f"tree: {first.file_count} files, {first.total_bytes / 1e6:.1f} MB; first "
              f"snapshot stored {first.new_blobs} blobs, {first.new_bytes / 1e6:.1f} MB")
        report("first snapshot (hash + store everything)", first_s)

        seconds, hashed = [], []
        for _ in range(args.repeat):
            elapsed, result = timed(lambda: store.snapshot(project))
            assert result.fingerprint == first.fingerprint and result.new_blobs == 0
            seconds.append(elapsed)
            hashed.append(result.hashed_files)
        print(f"second snapshots: {' '.join(f'{s * 1000:.1f}' for s in seconds)} ms; files "
              f"re-read each time: {hashed}")

        tar = []
        for _ in range(args.repeat):
            tar.append(timed(lambda: run_quiet(["tar", "-cf", "/dev/null", "."], project))[0])
        report("second snapshot, unchanged (median)", median(seconds), baseline=median(tar),
               goal="<= 0.2 s")
        report("baseline: tar -cf /dev/null (median)", median(tar))

        work = Path(tmp) / "work"
        mat_s = timed(lambda: store.materialize(first.fingerprint, work))[0]
        report("materialize the snapshot (copies, 50 MB)", mat_s)

        victim = next(p for p in sorted(project.rglob("*.py")) if ".deck" not in p.parts)
        victim.write_bytes(victim.read_bytes() + b"# edited\n")
        one_s, one = timed(lambda: store.snapshot(project))
        report(f"snapshot after one file changed ({one.new_blobs} new blob)", one_s)

        if shutil.which("git"):
            repo = Path(tmp) / "git"
            shutil.copytree(project, repo, ignore=shutil.ignore_patterns(".deck"))
            run_quiet(["git", "init", "-q"], repo)
            git_first = timed(lambda: run_quiet(["git", "add", "-A"], repo))[0]
            git_again = median([timed(lambda: run_quiet(["git", "add", "-A"], repo))[0]
                                for _ in range(args.repeat)])
            report("baseline: git add -A, fresh repository", git_first)
            report("baseline: git add -A, unchanged (median)", git_again)
            print(f"ratios: first snapshot / git add = {first_s / git_first:.2f}x; "
                  f"second snapshot / git add unchanged = {median(seconds) / git_again:.2f}x")


if __name__ == "__main__":
    main()
