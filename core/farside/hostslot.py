"""Runs on a remote host, passed as ``python3 -c``: holds one of the host's run slots for a run.

A target's ``maxConcurrentRuns`` is a statement about the host, so its slots live there, shared
by every machine that submits as this login: ``~/.launchdeck/slots/<host name>/<key>/`` holds
``N.lock`` files, and a slot is an exclusive ``flock`` on one of them, held by this program.
The kernel drops the lock when this program ends, however it ends (``kill -9`` included), so a
slot is never leaked, whether or not any deck process is connected. ``N.owner`` says who holds
slot N (machine, project, run, pid), for the reason a waiting run shows and for people.
Slots are taken under ``.take`` (a short exclusive lock), so two takers never both see room
and runs whose ``.compute`` files give different limits each start only below their own.

``hold SPEC_JSON`` (SPEC: ``key``, ``limit``, ``owner``, ``mode``):

- ``mode: wait``: while the slots are full, print ``{"busy": [owner...], "limit": N}`` each
  time the holders change; once one is free, take it and print ``{"slot": N}``. Then read one
  line on stdin, what to watch: ``{"container": ID, "socket": PATH}`` (a container on the
  host's Docker Engine) or ``{"pids": [[PID, START], ...]}`` (processes, by /proc start time),
  answer ``{"watching": true}``, let the SSH command end, and hold the slot until what it
  watches has ended. End of stdin before that (the keeper died or gave up, the link dropped)
  frees the slot at once.
- ``mode: adopt`` (a run launched by a keeper that died before handing its slot over): print
  ``{"held": N}`` if a live slot already holds this run, ``{"busy": ...}`` if none is free,
  else take one as above (``{"slot": N}``) and read what to watch.

The holder forks into its own session first, as the runner's waiter does, so the end of the
SSH session never signals it. Stdlib only, Python 3.6+.
"""
import fcntl
import json
import os
import select
import signal
import socket
import sys
import time

# inlined when sent (farside.script): on the host this file runs alone
from launchdeck.core.farside.procs import start_time

POLL_SECONDS = 0.2


def folder_of(key):
    # The host's own name: homes shared over NFS by several hosts keep each host's slots apart.
    return os.path.join(os.path.expanduser("~"), ".launchdeck", "slots",
                        socket.gethostname(), key)


def is_held(path):
    """Whether someone holds the lock on ``path`` (tested, under ``.take``, by locking it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def owner_of(folder, index):
    try:
        with open(os.path.join(folder, "%d.owner" % index)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def held_slots(folder):
    """{index: owner} of the slots held now."""
    held = {}
    for name in os.listdir(folder):
        index = name[:-len(".lock")]
        if name.endswith(".lock") and index.isdigit() and is_held(os.path.join(folder, name)):
            held[int(index)] = owner_of(folder, int(index))
    return held


def try_take(folder, limit, owner):
    """(fd, index) of a slot taken now, or (None, held) when ``limit`` slots are busy."""
    guard = os.open(os.path.join(folder, ".take"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(guard, fcntl.LOCK_EX)
        held = held_slots(folder)
        if len(held) >= limit:
            return None, held
        index = 0
        while index in held:
            index += 1
        fd = os.open(os.path.join(folder, "%d.lock" % index), os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: all takers wait for .take
        record = dict(owner, pid=os.getpid(), since=time.time())
        tmp = os.path.join(folder, "%d.owner.tmp" % index)
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(folder, "%d.owner" % index))
        return fd, index
    finally:
        os.close(guard)


def say(record):
    """One JSON line to deck; False when nobody reads any more (the SSH channel closed)."""
    try:
        os.write(1, (json.dumps(record) + "\n").encode())
        return True
    except OSError:
        return False


def stdin_closed(timeout):
    """Wait up to ``timeout`` s; True if stdin ended meanwhile (deck went away or gave up)."""
    ready, _, _ = select.select([0], [], [], timeout)
    return bool(ready) and not os.read(0, 4096)


def read_line():
    """One line from stdin (unbuffered: what follows is not ours), or "" at its end."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(0, 1)
        if not chunk:
            return ""
        data += chunk
    return data.decode()


def take(spec):
    """Wait for (or, adopting, try) a slot; its fd, or None when there is nothing to hold."""
    folder = folder_of(spec["key"])
    os.makedirs(folder, exist_ok=True)
    owner, limit = spec["owner"], int(spec["limit"])
    adopt = spec.get("mode") == "adopt"
    if adopt:
        for index, holder in held_slots(folder).items():
            if holder.get("run") == owner.get("run") and holder.get("project") == \
                    owner.get("project"):
                say({"held": index})
                return None
    last = None
    while True:
        fd, found = try_take(folder, limit, owner)
        if fd is not None:
            return fd if say({"slot": found}) else None
        busy = sorted(found.values(), key=lambda o: o.get("since", 0))
        if busy != last:
            last = busy
            if not say({"busy": busy, "limit": limit}):
                return None
        if adopt or stdin_closed(POLL_SECONDS):
            return None


def container_running(socket_path, container):
    """Whether the container runs, asking the host's Docker Engine; None if it cannot tell."""
    import http.client

    class UnixHTTP(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(socket_path)

    connection = UnixHTTP("localhost")
    try:
        # Returns once the container is not running (at once if it is not).
        connection.request("POST", "/containers/%s/wait?condition=not-running" % container)
        answer = connection.getresponse()
        answer.read()
        if answer.status == 404:
            return False
        connection.request("GET", "/containers/%s/json" % container)
        answer = connection.getresponse()
        body = answer.read()
        if answer.status == 404:
            return False
        return bool(json.loads(body.decode())["State"].get("Running"))
    except (OSError, ValueError, KeyError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def hold_while(watch):
    """Return once what ``watch`` names has ended."""
    if "container" in watch:
        while container_running(watch["socket"], watch["container"]) is not False:
            time.sleep(POLL_SECONDS)  # an engine that went away may come back with it
        return
    procs = [(int(pid), str(started)) for pid, started in watch.get("pids", [])]
    while any(start_time(pid) == started for pid, started in procs):
        time.sleep(POLL_SECONDS)


def holder(spec, detached_fd):
    code = 0
    try:
        os.setsid()
        for sig in (signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # a closed channel is an error, not death
        slot = take(spec)
        if slot is None:
            return
        line = read_line()
        if not line.strip():
            return  # no run to hold the slot for: freed as this process ends
        watch = json.loads(line)
        say({"watching": True})
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(detached_fd)  # the SSH command ends here; the slot stays held
        hold_while(watch)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def main(args):
    if args[:1] != ["hold"]:
        sys.exit("usage: hold SPEC_JSON")
    spec = json.loads(args[1])
    read_end, write_end = os.pipe()
    if os.fork() == 0:
        os.close(read_end)
        holder(spec, write_end)
    os.close(write_end)
    os.read(read_end, 1)  # the holder detached (or ended): so does this command
    sys.exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
