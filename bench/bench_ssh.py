"""SSH costs against the real test sshd on 127.0.0.1:2222 (``scripts/infra/sshd.sh``).

Prints, in one run:
1. opening a fresh connection and running ``true``: median of 7, against OpenSSH's
   ``ssh -i KEY -p 2222 deckuser@127.0.0.1 true`` (a new process and connection each time);
2. ``true`` on the warm shared connection (what every call after the first costs);
3. syncing the 1,000-file, 50 MB tree of ``bench_snapshot`` to an empty host store, then again
   after one file changed, then unchanged: bytes sent, blobs sent, seconds.

Benchmarks print; they never assert timing. Run as root: python bench/bench_ssh.py
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import REPO, median, report  # noqa: E402
from bench.bench_snapshot import generate  # noqa: E402
from launchdeck.core.remote import SSHPool  # noqa: E402
from launchdeck.core.remote.sync import sync_snapshot  # noqa: E402
from launchdeck.core.snapshot import ContentStore  # noqa: E402

ROUNDS = 7


def start_sshd() -> dict[str, str]:
    out = subprocess.run(["bash", str(REPO / "scripts" / "infra" / "sshd.sh")], check=True,
                         capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


async def main() -> None:
    facts = start_sshd()
    host, port, user = facts["DECK_SSHD_HOST"], int(facts["DECK_SSHD_PORT"]), \
        facts["DECK_SSHD_USER"]
    key = facts["DECK_SSHD_CLIENT_KEY"]
    work = Path(tempfile.mkdtemp(prefix="deck-bench-ssh-"))
    known = work / "known_hosts"
    algorithm, data = Path(facts["DECK_SSHD_HOST_PUBKEY"]).read_text().split()[:2]
    known.write_text(f"[{host}]:{port} {algorithm} {data}\n")

    def pool() -> SSHPool:
        return SSHPool(config_paths=[], known_hosts=known)

    ours = []
    for _ in range(ROUNDS):
        p = pool()
        start = time.perf_counter()
        await p.host(host, port=port, user=user, identity_file=key).run(["true"], check=True)
        ours.append(time.perf_counter() - start)
        await p.close()
    ssh = ["ssh", "-i", key, "-p", str(port), "-o", "BatchMode=yes",
           "-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes"]
    theirs, same_kex = [], []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        subprocess.run([*ssh, f"{user}@{host}", "true"], check=True)
        theirs.append(time.perf_counter() - start)
        # OpenSSH 9.x defaults to the post-quantum sntrup761x25519 exchange (about 0.2 s of
        # CPU here), which asyncssh lacks without liboqs: also compare on the same exchange.
        start = time.perf_counter()
        subprocess.run([*ssh, "-o", "KexAlgorithms=curve25519-sha256", f"{user}@{host}",
                        "true"], check=True)
        same_kex.append(time.perf_counter() - start)
    report("connect + `true`, fresh connection (median of 7)", median(ours),
           baseline=median(theirs))
    report("  same, baseline ssh with curve25519-sha256 kex", median(ours),
           baseline=median(same_kex))

    shared = pool()
    remote = shared.host(host, port=port, user=user, identity_file=key)
    await remote.run(["true"])
    warm = []
    for _ in range(20):
        start = time.perf_counter()
        await remote.run(["true"])
        warm.append(time.perf_counter() - start)
    report("`true` on the warm shared connection (median of 20)", median(warm),
           baseline=median(theirs))

    project = work / "project"
    project.mkdir()
    generate(project)
    store = ContentStore(work / "store")
    store_dir = f".launchdeck-bench/{uuid.uuid4().hex[:12]}/store"
    try:
        for label, change in (("first sync, 1,000 files / 50 MB", None),
                              ("second sync, one changed file", "file0003"),
                              ("third sync, unchanged", None)):
            if change:
                changed = next(p for p in sorted(project.rglob(f"{change}.*")))
                changed.write_bytes(changed.read_bytes()[::-1] + b"\n")
                print(f"  changed {changed.relative_to(project)}: "
                      f"{changed.stat().st_size} bytes")
            fp = store.snapshot(project).fingerprint
            start = time.perf_counter()
            done = await sync_snapshot(remote, store, fp, store_dir=store_dir)
            seconds = time.perf_counter() - start
            report(f"{label}: seconds", seconds)
            report(f"{label}: bytes sent", done.bytes_sent, "B")
            if label.startswith("first"):  # compare with what a shell user would do
                start = time.perf_counter()
                subprocess.run(f"tar -C {project} -czf - . | {' '.join(ssh)} {user}@{host} "
                               f"'mkdir -p {store_dir}-tar && tar -C {store_dir}-tar -xzf -'",
                               shell=True, check=True)
                report("  vs tar -cz | ssh tar -xz of the same tree", seconds,
                       baseline=time.perf_counter() - start)
            print(f"  blobs sent {done.files_sent}, skipped {done.blobs_skipped}, "
                  f"manifest as delta: {done.base is not None}")
    finally:
        await remote.run(["rm", "-rf", store_dir.rsplit("/", 1)[0]])
        await shared.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
