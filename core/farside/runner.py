"""Runs on a remote host, passed as ``python3 -c``: launch, follow, wait and cancel a run.

Shared by the cluster target (the program is spark-submit on the head node) and the remote
target (the program is the host's own Python running the script). Stdlib only, Python 3.6+, no
imports from Launchdeck. A run's folder ROOT (relative to the login user's home) holds
``work/`` (the snapshot, the program's cwd, with an empty ``outputs/``), ``output.log``,
``metrics.jsonl``, ``pids`` and, once the program has ended, ``exit_code``.

``launch SPEC_JSON`` (or ``launch -``, the spec on stdin): write the spec's ``secret_files``
(0600, in ROOT/secrets, removed once the program has ended), fork a waiter in its own session
(so the SSH session ending never signals it) that starts the program in yet another process
group (so a cancel signals the program, never the waiter), waits for it and writes
``exit_code``. The waiter is a child subreaper (Linux ``PR_SET_CHILD_SUBREAPER``): whatever
the program started and orphaned, even through a double fork with ``setsid``, stays below the
waiter, so cancel finds and stops all of it, and the waiter stops what is left once the
program itself has ended. The launcher then
waits up to ``app_wait`` seconds for a Spark application id to appear in the log (or for the
end) and prints one JSON line. ``report ROOT WAIT`` prints the same line for a run launched
earlier (a launch whose link dropped). ``follow ROOT NAME OFFSET`` streams a file from a byte
offset until the run has ended. ``wait ROOT`` prints the exit code (or ``lost``) once the
run has ended, and removes ``secrets/`` if a killed waiter left it.
``cancel ROOT GRACE`` signals the program's process group and every process below the waiter:
TERM, then KILL after GRACE seconds. ``pack ROOT`` writes a tar of ``work/outputs`` to stdout
(regular files, every name of a hard link, never following a link) and, after it, one JSON
line on stderr: what it left out and why.
"""
import json
import os
import re
import signal
import stat
import sys
import tarfile
import time
import zipfile

# inlined when sent (farside.script): on the host this file runs alone
from launchdeck.core.farside.procs import start_time

PR_SET_CHILD_SUBREAPER = 36

APP_ID = re.compile(rb"\b(app-\d{14}-\d{4,}|application_\d+_\d+|local-\d{10,})\b")


def alive(pid, started):
    return bool(pid) and start_time(pid) == started


def read_pids(root):
    try:
        with open(os.path.join(root, "pids")) as f:
            pid, started, waiter, waiter_started = f.read().split()
        return int(pid), started, int(waiter), waiter_started
    except (OSError, ValueError):
        return 0, "", 0, ""


def children_map():
    """pid -> parent pid of every process on the host (that this user may see)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as f:
                stat = f.read()
            parents[int(entry)] = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError):
            continue
    return parents


def descendants(pid):
    """The live processes below ``pid``, as (pid, start time) pairs."""
    parents = children_map()
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for child, its_parent in parents.items():
            if its_parent == parent:
                started = start_time(child)
                if started:
                    found.append((child, started))
                todo.append(child)
    return found


def signal_all(procs, sig):
    for pid, started in procs:
        if alive(pid, started):
            try:
                os.kill(pid, sig)
            except OSError:
                pass


def become_subreaper():
    """Orphans of the program are re-parented to this process, not to init (Linux 3.4+)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (ImportError, OSError, AttributeError):  # no ctypes, no prctl: not Linux
        return False


def ended(root):
    if os.path.exists(os.path.join(root, "exit_code")):
        return True
    pid, started, waiter, waiter_started = read_pids(root)
    return not alive(pid, started) and not alive(waiter, waiter_started)


def zip_modules(work, runtime, dest):
    """The snapshot's Python modules, then deck's runtime (``deckrun``), for --py-files.

    The runtime goes in for a driver that runs away from the head node (YARN cluster mode);
    a project module of the same name wins. ``outputs/`` is not code.
    """
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        for base in (work, runtime):
            for folder, dirs, files in os.walk(base):
                rel = os.path.relpath(folder, base)
                dirs[:] = [d for d in dirs if not (rel == "." and d == "outputs")
                           and not os.path.islink(os.path.join(folder, d))]
                for name in files:
                    arcname = os.path.normpath(os.path.join(rel, name))
                    if name.endswith(".py") and arcname not in z.NameToInfo:
                        z.write(os.path.join(folder, name), arcname)


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def launch(spec):
    home = os.path.expanduser("~")
    root = os.path.join(home, spec["root"])

    def expand(text):
        return text.replace("@ROOT@", root).replace("@HOME@", home)

    work = os.path.join(root, "work")
    # Workbench made ./outputs/ before the script started; scripts write into it blindly.
    os.makedirs(os.path.join(work, "outputs"), exist_ok=True)
    for folder in spec.get("mkdirs", []):  # e.g. the native shared directory
        os.makedirs(expand(folder), exist_ok=True)
    for rel, data in spec.get("files", {}).items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(data)
    for rel, data in spec.get("secret_files", {}).items():
        write_secret(os.path.join(root, rel), data)
    for need in spec.get("require", []):
        if not os.path.exists(expand(need)):
            remove_secrets(root)
            print(json.dumps({"error": "missing " + expand(need)}))
            return
    if spec.get("zip_modules", True):  # for spark-submit --py-files
        zip_modules(work, os.path.join(root, "runtime"), os.path.join(root, "modules.zip"))
    env = dict(os.environ)
    env.update({k: expand(v) for k, v in spec["env"].items()})
    argv = [expand(a) for a in spec["argv"]]
    for name in ("exit_code", "pids"):
        if os.path.exists(os.path.join(root, name)):
            os.remove(os.path.join(root, name))
    read_end, write_end = os.pipe()
    if os.fork() == 0:
        os.close(read_end)
        waiter(argv, root, work, env, write_end)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read().decode()
    if not answer.startswith("ok"):
        remove_secrets(root)
        print(json.dumps({"error": answer or "%s did not start" % argv[0]}))
        return
    report(root, float(spec.get("app_wait", 30)))


def write_secret(path, data):
    """A file only this user reads, in ROOT/secrets (0700), gone when the run ends."""
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(data)


def remove_secrets(root):
    import shutil

    shutil.rmtree(os.path.join(root, "secrets"), ignore_errors=True)


def report(root, wait_seconds):
    """Print the run's processes and its Spark application id, waiting up to ``wait_seconds``."""
    log = os.path.join(root, "output.log")
    deadline = time.time() + wait_seconds
    app_id, seen = None, 0
    while True:
        done = ended(root)
        try:
            with open(log, "rb") as f:
                f.seek(max(0, seen - 64))  # an id may straddle two reads
                data = f.read()
                seen = f.tell()
        except OSError:
            data = b""
        found = APP_ID.search(data)
        if found:
            app_id = found.group(1).decode()
            break
        if done or time.time() >= deadline:
            break
        time.sleep(0.05)
    pid, started, w, w_started = read_pids(root)
    if not pid:
        print(json.dumps({"error": "no program was started in " + root}))
        return
    print(json.dumps({"pid": pid, "start": started, "waiter": w, "waiter_start": w_started,
                      "app_id": app_id}))


def shrug(signum, frame):
    """The waiter's handler for signals that must not stop it."""


def waiter(argv, root, work, env, report_fd):
    code = 0
    try:
        os.setsid()
        become_subreaper()
        # A do-nothing handler rather than SIG_IGN: exec keeps ignored signals ignored, and
        # spark-submit must feel cancel's SIGTERM to stop its application cleanly.
        for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
            signal.signal(sig, shrug)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # Popen's restore_signals resets it
        import subprocess

        log = os.open(os.path.join(root, "output.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                      0o644)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(null, 2)
        try:
            proc = subprocess.Popen(argv, cwd=work, env=env, stdin=null, stdout=log,
                                    stderr=log, start_new_session=True, restore_signals=True,
                                    pass_fds=(), close_fds=True)
        except OSError as exc:
            os.write(report_fd, ("cannot start %s: %s" % (argv[0], exc)).encode())
            os._exit(1)
        write_atomic(os.path.join(root, "pids"), "%d %s %d %s\n" % (
            proc.pid, start_time(proc.pid), os.getpid(), start_time(os.getpid())))
        os.write(report_fd, b"ok")
        os.close(report_fd)
        returncode = wait_reaping(proc.pid)
        remove_secrets(root)  # spark-submit read them long ago
        stop_leftovers()
        write_atomic(os.path.join(root, "exit_code"),
                     str(128 - returncode if returncode < 0 else returncode))
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def wait_reaping(pid):
    """Wait for the program; meanwhile reap the orphans re-parented here, so none lingers."""
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        if done == pid:
            return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def stop_leftovers(grace=2.0):
    """Stop what the program left running below this waiter (nothing outlives a run), reaping it.

    Called once the program has ended, whether by itself or by a cancel.
    """
    me = os.getpid()
    procs = descendants(me)
    signal_all(procs, signal.SIGTERM)
    deadline = time.time() + grace
    while True:
        reap()
        procs = [p for p in procs if alive(*p)] + [p for p in descendants(me) if p not in procs]
        if not procs or time.time() >= deadline:
            break
        time.sleep(0.05)
    signal_all(procs, signal.SIGKILL)
    deadline = time.time() + 10
    while descendants(me) and time.time() < deadline:
        reap()
        time.sleep(0.05)


def reap():
    """Collect one exited child if any; return whether children remain."""
    try:
        os.waitpid(-1, os.WNOHANG)
        return True
    except ChildProcessError:
        return False


def follow(root, name, offset):
    path = os.path.join(root, name)
    out = sys.stdout.buffer
    delay = 0.01
    while True:
        data = b""
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read(1 << 20)
        except OSError:
            pass
        if data:
            offset += len(data)
            out.write(data)
            out.flush()
            delay = 0.01
            continue
        if ended(root):
            try:
                with open(path, "rb") as f:  # what was written just before the end
                    f.seek(offset)
                    out.write(f.read())
            except OSError:
                pass
            out.flush()
            return
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


def wait(root):
    while not ended(root):
        time.sleep(0.1)
    # The waiter removes them as the program ends; a waiter killed (kill -9) could not.
    remove_secrets(root)
    try:
        with open(os.path.join(root, "exit_code")) as f:
            print(f.read().strip())
    except OSError:
        print("lost")


def cancel(root, grace):
    """TERM the program's group and all below the waiter; KILL what is left after ``grace``.

    Every process seen is remembered with its start time: one that the waiter's end re-parents
    to init is still found and stopped, and a pid reused meanwhile is never signalled.
    """
    pid, started, waiter_pid, waiter_started = read_pids(root)

    def tree():
        procs = [(pid, started)] if alive(pid, started) else []
        if alive(waiter_pid, waiter_started):
            procs += [p for p in descendants(waiter_pid) if p not in procs]
        return procs

    procs = tree()
    if not procs:
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except OSError:
        pass
    signal_all(procs, signal.SIGTERM)
    deadline = time.time() + grace
    while time.time() < deadline:
        procs += [p for p in tree() if p not in procs]
        if not any(alive(*p) for p in procs):
            return
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    procs += [p for p in tree() if p not in procs]
    signal_all(procs, signal.SIGKILL)


def pack(root):
    """The run's outputs as a tar on stdout; what is not a regular file is named, not sent."""
    source = os.path.join(root, "work", "outputs")
    skipped = []
    kinds = ((stat.S_ISLNK, "symbolic link not followed"),
             (stat.S_ISFIFO, "FIFO (named pipe), not a regular file"),
             (stat.S_ISSOCK, "socket, not a regular file"),
             (stat.S_ISCHR, "device, not a regular file"),
             (stat.S_ISBLK, "device, not a regular file"))
    with tarfile.open(fileobj=sys.stdout.buffer, mode="w|") as tar:
        if os.path.isdir(source) and not os.path.islink(source):
            tar.add(source, arcname="outputs", recursive=False)
        for folder, dirs, files in os.walk(source):
            rel_folder = os.path.relpath(folder, source)
            for name in sorted(dirs) + sorted(files):
                path = os.path.join(folder, name)
                rel = os.path.normpath(os.path.join(rel_folder, name))
                try:
                    mode = os.lstat(path).st_mode
                except OSError:
                    continue  # gone meanwhile
                if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
                    # gettarinfo records a second name of one inode as a hard link
                    tar.add(path, arcname="outputs/" + rel, recursive=False)
                    continue
                if name in dirs:
                    dirs.remove(name)  # a link to a folder: never walked into
                skipped.append(rel + ": " + next(
                    (why for test, why in kinds if test(mode)), "not a regular file"))
    sys.stdout.flush()
    sys.stderr.write(json.dumps({"skipped": skipped}) + "\n")


def main(args):
    command = args[0]
    if command == "launch":
        # "-": the spec on stdin, so the run's environment (secrets) is on no command line.
        launch(json.loads(sys.stdin.read() if args[1] == "-" else args[1]))
    elif command == "follow":
        follow(os.path.expanduser(os.path.join("~", args[1])), args[2], int(args[3]))
    elif command == "report":
        report(os.path.expanduser(os.path.join("~", args[1])), float(args[2]))
    elif command == "wait":
        wait(os.path.expanduser(os.path.join("~", args[1])))
    elif command == "cancel":
        cancel(os.path.expanduser(os.path.join("~", args[1])), float(args[2]))
    elif command == "pack":
        pack(os.path.expanduser(os.path.join("~", args[1])))
    else:
        sys.exit("unknown command " + command)


if __name__ == "__main__":
    main(sys.argv[1:])
