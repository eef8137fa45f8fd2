"""Send a snapshot to a host's mirror of the content store, sending only what it lacks.

The host keeps ``~/.launchdeck/store`` with the local store's layout (``objects/ab/cdef...``,
``manifests/<fp>.json``). Invariant on the host: a manifest is written only after every blob
it names, so a manifest there proves its blobs are there too (the host's prune,
``core/farside/storeprune.py``, deletes manifests before blobs). Every sync marks what it finds
there (a fresh mtime), which is how that prune tells what is still in use.

A sync costs at most three short exchanges, each one channel with the host's ``sh``:

1. which of [this snapshot, up to 16 recent local snapshots] the host already has; if it has
   this one, stop. The recent one the host has that shares the most blobs becomes the *base*.
2. which of the blobs that the base lacks are missing on the host (hashes on stdin).
3. one gzip'd tar stream: the missing blobs, then the manifest, sent as a delta against the
   base's manifest (manifests are sorted, so a small change is a small middle part) which the
   host rebuilds and checks against the fingerprint (its sha256) before publishing it.

Only ``sh``, ``tar``, ``gzip``, ``head``, ``tail``, ``sha256sum`` and ``mktemp`` are needed on
the host for syncing; ``materialize_remote`` needs ``python3``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import tarfile
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from launchdeck.core.errors import SnapshotError, TargetError, TargetUnreachable
from launchdeck.core.remote.commands import decoded
from launchdeck.core.snapshot.manifest import is_digest
from launchdeck.core.snapshot.store import ContentStore

if TYPE_CHECKING:
    from launchdeck.core.remote.commands import SSHHost

#: Where the mirrored store lives on a host, relative to the login user's home.
REMOTE_STORE = ".launchdeck/store"
_CANDIDATES = 16
_FLUSH = 256 * 1024
_GZIP_LEVEL = 1  # fast: the link, not the CPU, should be what limits a sync
_SAMPLE = 64 * 1024

# What a sync finds there and may rely on gets a fresh mtime (one ``touch`` for all): the
# snapshot, the candidate bases (this machine's recent snapshots) and the blobs it finds
# present. A prune of the host's store (``core/farside/storeprune.py``) removes only what no
# sync marked lately.
_HAVE = r'''cd "$1" 2>/dev/null || exit 0
m=; while read -r fp; do [ -f "manifests/$fp.json" ] && { echo "$fp"; m="$m manifests/$fp.json"; }
done; [ -z "$m" ] || touch -c -- $m; exit 0'''

# Present blobs stream to one xargs touch (a first sync asks about every file of a project).
_MISSING = r'''cd "$1" 2>/dev/null || { cat; exit 0; }
{ while read -r h; do p=${h%"${h#??}"}
    if [ -f "objects/$p/${h#??}" ]; then echo "objects/$p/${h#??}" >&3; else echo "$h"; fi
  done 3>&1 1>&4 | xargs -r touch -c --; } 4>&1; exit 0'''

# Blobs land in a temp folder first and are renamed into place, so a dropped link never leaves
# a truncated blob under its final name; the manifest is published last.
_PUSH = r'''set -e
mkdir -p "$1/objects" "$1/manifests" "$1/tmp"; cd "$1"
t=$(mktemp -d tmp/push.XXXXXX); trap 'rm -rf "$t"' EXIT
tar -xzf - -C "$t"
for d in "$t"/objects/*/; do
  [ -d "$d" ] || continue; p=$(basename "$d"); mkdir -p "objects/$p"; mv -f "$d"* "objects/$p/"
done
if [ -f "$t/delta" ]; then
  read -r base head tail < "$t/delta"
  { head -c "$head" "manifests/$base.json"; cat "$t/mid"; tail -c "$tail" "manifests/$base.json"; } > "$t/m"
else
  mv "$t/manifest" "$t/m"
fi
got=$(sha256sum < "$t/m" | cut -c1-64)
[ "$got" = "$2" ] || { echo "rebuilt manifest has sha256 $got, expected $2" >&2; exit 3; }
chmod 444 "$t/m"; mv -f "$t/m" "manifests/$2.json"'''


@dataclass(frozen=True)
class SyncReport:
    bytes_sent: int      #: bytes written to the host's channels (compressed tar, hash lists)
    files_sent: int      #: blobs sent
    blobs_skipped: int   #: blobs of the snapshot that were not sent (already on the host)
    base: str | None = None  #: the snapshot whose manifest the new one was sent against


async def _pipe(build, stdin, counter: "_Counter") -> None:
    """Run ``build(put)`` in a thread while its chunks go out on ``stdin``.

    Reading and compressing blobs overlap with encrypting and sending, and a big blob never
    stalls the event loop (this connection's keepalives, other runs' I/O). The queue is
    bounded, so a slow link slows the reader instead of filling memory.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(maxsize=8)
    stop = threading.Event()

    def put(item) -> None:
        if stop.is_set():
            raise _Stopped()
        asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()

    def produce() -> None:
        try:
            build(put)
            put(None)
        except _Stopped:
            pass
        except BaseException as exc:  # handed to the event loop side, raised there
            with contextlib.suppress(_Stopped):
                put(exc)

    producer = loop.run_in_executor(None, produce)
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            counter.sent += len(item)
            stdin.write(item)
            await stdin.drain()
    finally:
        stop.set()
        while not queue.empty():  # unblock a producer waiting on a full queue
            queue.get_nowait()
        await producer


class _Stopped(Exception):
    """The sending side gave up; the producer thread stops quietly."""


class _Counter:
    def __init__(self) -> None:
        self.sent = 0


async def _ask(host: "SSHHost", script: str, store_dir: str, lines: list[str],
               counter: _Counter) -> list[str]:
    data = "".join(f"{line}\n" for line in lines).encode()
    counter.sent += len(data)
    result = await host.run(["sh", "-c", script, "sh", store_dir], input=data, check=True)
    return [ln for ln in result.stdout.decode().split() if is_digest(ln)]


def _recent_manifests(store: ContentStore, exclude: str) -> list[str]:
    folder = store.root / "manifests"
    try:
        found = [(e.stat().st_mtime, e.name[:-5]) for e in os.scandir(folder)
                 if e.name.endswith(".json") and is_digest(e.name[:-5])]
    except FileNotFoundError:
        return []
    found.sort(reverse=True)
    return [fp for _, fp in found if fp != exclude][:_CANDIDATES]


def _manifest_bytes(store: ContentStore, fingerprint: str) -> bytes:
    try:
        return (store.root / "manifests" / f"{fingerprint}.json").read_bytes()
    except OSError as exc:
        raise SnapshotError(f"cannot read snapshot {fingerprint}: {exc.strerror}") from None


def _delta(base: bytes, new: bytes) -> tuple[int, bytes, int]:
    """(bytes kept from the start of base, new middle, bytes kept from its end)."""
    limit = min(len(base), len(new))
    head = _common(base, new, limit, 1)
    tail = _common(base, new, limit - head, -1)
    return head, new[head:len(new) - tail], tail


def _common(a: bytes, b: bytes, limit: int, direction: int) -> int:
    """Length of the common prefix (direction 1) or suffix (-1), at most ``limit``."""
    def part(start: int, stop: int, x: bytes) -> bytes:
        return x[start:stop] if direction == 1 else x[len(x) - stop:len(x) - start]

    n, step = 0, 4096
    while n + step <= limit and part(n, n + step, a) == part(n, n + step, b):
        n += step  # whole blocks first: a manifest is mostly unchanged
    while n < limit and part(n, n + 1, a) == part(n, n + 1, b):
        n += 1
    return n


class _GzipSink(io.RawIOBase):
    """Where tarfile writes: gzip into a buffer that the caller ships in chunks.

    Incompressible blobs (images, parquet, models) go in stored (level 0) gzip members: deflate
    on random bytes costs about 25 MB/s of CPU for nothing. gzip allows concatenated members,
    and ``tar -z`` on the host reads them as one stream.
    """

    def __init__(self) -> None:
        self.buffer = bytearray()
        self._level = _GZIP_LEVEL
        self._zip = zlib.compressobj(self._level, zlib.DEFLATED, 31)  # 31: gzip framing

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.buffer += self._zip.compress(data)
        return len(data)

    def set_level(self, level: int) -> None:
        if level != self._level:
            self.finish()
            self._level = level
            self._zip = zlib.compressobj(level, zlib.DEFLATED, 31)

    def finish(self) -> None:
        self.buffer += self._zip.flush()

    def take(self) -> bytes:
        data, self.buffer = bytes(self.buffer), bytearray()
        return data


def _worth_compressing(path: Path) -> bool:
    """Whether a blob's first 64 KB shrink by at least a tenth at the fast level."""
    with open(path, "rb") as src:
        sample = src.read(_SAMPLE)
    return len(sample) < 4096 or \
        len(zlib.compress(sample, _GZIP_LEVEL)) < 0.9 * len(sample)


def _add(tar: tarfile.TarFile, name: str, data: bytes | None = None,
         path: Path | None = None) -> None:
    info = tarfile.TarInfo(name)
    info.mode = 0o444
    info.mtime = int(time.time())  # sent now: a prune of the host's store goes by it
    if path is not None:
        info.size = path.stat().st_size
        with open(path, "rb") as src:
            tar.addfile(info, src)
    else:
        info.size = len(data or b"")
        tar.addfile(info, io.BytesIO(data or b""))


async def sync_snapshot(host: "SSHHost", store: ContentStore, fingerprint: str, *,
                        store_dir: str = REMOTE_STORE) -> SyncReport:
    """Make the host's store hold snapshot ``fingerprint``; send only what it lacks."""
    manifest = store.manifest(fingerprint)  # validates the manifest and its fingerprint
    needed = manifest.blob_hashes()
    counter = _Counter()
    candidates = _recent_manifests(store, fingerprint)
    present = set(await _ask(host, _HAVE, store_dir, [fingerprint, *candidates], counter))
    if fingerprint in present:
        return SyncReport(counter.sent, 0, len(needed))
    base, base_hashes = None, set()
    for candidate in (c for c in candidates if c in present):
        try:
            hashes = store.manifest(candidate).blob_hashes()
        except SnapshotError:
            continue  # a damaged old manifest is only a worse base
        if base is None or len(needed - hashes) < len(needed - base_hashes):
            base, base_hashes = candidate, hashes
    unknown = sorted(needed - base_hashes)
    missing = await _ask(host, _MISSING, store_dir, unknown, counter) if unknown else []
    for digest in missing:
        if not store.has_blob(digest):
            raise SnapshotError(f"snapshot {fingerprint} needs blob {digest}, which this "
                                f"store lacks; take the snapshot again")
    data = _manifest_bytes(store, fingerprint)
    manifest_parts = [("manifest", data)]
    if base is not None:
        head, middle, tail = _delta(_manifest_bytes(store, base), data)
        manifest_parts = [("delta", f"{base} {head} {tail}\n".encode()), ("mid", middle)]

    def build(put) -> None:
        sink = _GzipSink()
        tar = tarfile.open(fileobj=sink, mode="w|", format=tarfile.GNU_FORMAT)
        for digest in missing:
            blob = store.blob_path(digest)
            sink.set_level(_GZIP_LEVEL if _worth_compressing(blob) else 0)
            _add(tar, f"objects/{digest[:2]}/{digest[2:]}", path=blob)
            if len(sink.buffer) >= _FLUSH:
                put(sink.take())
        sink.set_level(_GZIP_LEVEL)
        for name, part in manifest_parts:  # after the blobs: the host publishes it last
            _add(tar, name, part)
        tar.close()
        sink.finish()
        put(sink.take())

    async with host.process(["sh", "-c", _PUSH, "sh", store_dir, fingerprint]) as proc:
        try:
            await _pipe(build, proc.stdin, counter)
            proc.stdin.write_eof()
        except BrokenPipeError:
            pass  # the host's side ended before reading it all: its exit status says why
        result = await proc.wait()
        if result.exit_status is None:
            raise TargetUnreachable(f"{host.endpoint.host}:{host.endpoint.port}: connection "
                                    f"lost while storing snapshot {fingerprint[:12]} there")
        if result.exit_status != 0:
            err = decoded(result.stderr).strip()
            raise TargetError(f"{host.endpoint}: storing snapshot {fingerprint[:12]} on the "
                              f"host failed (exit {result.exit_status}): {err}")
    return SyncReport(counter.sent, len(missing), len(needed) - len(missing), base)
