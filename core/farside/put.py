"""On the Docker host: put a run's ``/deck`` (helpers, runtime, code) into its container.

Started by deck over SSH as ``python3 -c BOOT STORE FINGERPRINT SOCKET`` with this file on
stdin (``<length>\n``, then the file after a line ``HELPERS = "<base64 of a gzip'd tar>"``
holding the launcher, follower and runtime), so: stdlib only, Python 3.5 syntax, no imports
from Launchdeck. It starts while deck syncs the snapshot into the host's store; a line on
stdin says the store holds it, and it builds the tar, before the container exists; a second
line is the container's id (an end of stdin instead of either line: the launch failed, there
is nothing to do).
Why on the host: the code crosses the link once, into the host's store (``core.remote.sync``,
only what the host lacks), never again per run; and one archive PUT per run (each costs the
engine a mount).

Refuses manifest paths that are absolute or hold ``.``/``..``, links that leave the tree and
blobs whose size is wrong. Prints one line: ``files=N bytes=N``.
"""
import base64
import io
import socket
import sys
import tarfile
import tempfile

import http.client as httplib

# inlined when sent (farside.script): on the host this file runs alone
from launchdeck.core.farside.manifest import Refused, checked_entry, read_manifest


def fail(message, code=2):
    sys.stderr.write("deck put: " + message + "\n")
    sys.exit(code)


def info_for(name, kind, mode):
    info = tarfile.TarInfo("deck/work" + ("/" + name if name else ""))
    info.type = kind
    info.mode = mode
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def build(store, fingerprint, out):
    entries = read_manifest(store, fingerprint)
    files = total = 0
    seen = set()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        helpers = globals().get("HELPERS")
        if helpers:
            with tarfile.open(fileobj=io.BytesIO(base64.b64decode(helpers)), mode="r:gz") as h:
                for member in h:
                    tar.addfile(member, h.extractfile(member) if member.isfile() else None)
        # Folders 0777: the image's user may not be root and must write its outputs.
        tar.addfile(info_for("", tarfile.DIRTYPE, 0o777))
        for entry in entries:
            rel, link, blob = checked_entry(store, entry)
            parts = rel.split("/")
            for i in range(1, len(parts)):
                folder = "/".join(parts[:i])
                if folder not in seen:
                    seen.add(folder)
                    tar.addfile(info_for(folder, tarfile.DIRTYPE, 0o777))
            if link is not None:
                info = info_for(rel, tarfile.SYMTYPE, 0o777)
                info.linkname = link
                tar.addfile(info)
                continue
            info = info_for(rel, tarfile.REGTYPE, 0o755 if entry["executable"] else 0o644)
            info.size = entry["size"]
            with open(blob, "rb") as src:
                tar.addfile(info, src)
            files += 1
            total += entry["size"]
    return files, total


class UnixConnection(httplib.HTTPConnection):
    def __init__(self, path):
        httplib.HTTPConnection.__init__(self, "localhost", timeout=300)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(300)
        self.sock.connect(self.socket_path)


def main(store, fingerprint, docker_socket):
    if not sys.stdin.buffer.readline().strip():
        return  # the sync failed, or deck's launch did: nothing to put
    with tempfile.TemporaryFile() as spool:
        try:
            files, total = build(store, fingerprint, spool)
        except Refused as exc:
            fail(str(exc))
        container = sys.stdin.buffer.readline().decode("ascii", "replace").strip()
        if not container:
            return  # deck's launch failed before it created the container
        size = spool.tell()
        spool.seek(0)
        try:
            conn = UnixConnection(docker_socket)
            conn.request("PUT", "/containers/%s/archive?path=/" % container, body=spool,
                         headers={"Content-Type": "application/x-tar",
                                  "Content-Length": str(size)})
            response = conn.getresponse()
            body = response.read()
        except (OSError, socket.error) as exc:
            fail("cannot reach the Docker Engine at %s: %s" % (docker_socket, exc), 3)
        if response.status != 200:
            fail("the Docker Engine refused the run's code (HTTP %d): %s"
                 % (response.status, body.decode("utf-8", "replace").strip()), 4)
    sys.stdout.write("files=%d bytes=%d\n" % (files, total))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        fail("usage: python3 -c BOOT STORE FINGERPRINT SOCKET, container id on stdin")
    main(*sys.argv[1:])
