"""Runs on a Spark head node, passed as ``python3 -c``: launch, follow, wait and cancel a run.

Stdlib only, Python 3.6+, no imports from Launchdeck. A run's folder ROOT (relative to the
login user's home) holds ``work/`` (the snapshot, the driver's cwd), ``output.log``,
``metrics.jsonl``, ``pids`` and, once spark-submit has ended, ``exit_code``.

``launch SPEC_JSON``: fork a waiter in its own session (so the SSH session ending never
signals it) that starts spark-submit in yet another process group (so a cancel signals
spark-submit and its driver, never the waiter), waits for it and writes ``exit_code``. The
launcher then waits for the Spark application id to appear in the log, or for the end, and
prints one JSON line. ``report ROOT WAIT`` prints the same line for a run
launched earlier (a launch whose link dropped). ``follow ROOT NAME OFFSET`` streams a file from a byte offset until the
run has ended. ``wait ROOT`` prints the exit code (or ``lost``). ``cancel ROOT GRACE`` signals
spark-submit's process group: TERM, then KILL after GRACE seconds.
"""
import json
import os
import re
import signal
import sys
import time
import zipfile

APP_ID = re.compile(rb"\b(app-\d{14}-\d{4,}|application_\d+_\d+|local-\d{10,})\b")


def start_time(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read()
    except (OSError, ValueError):
        return ""
    fields = stat[stat.rindex(b")") + 2:].split()
    return "" if fields[0] == b"Z" else fields[19].decode()


def alive(pid, started):
    return bool(pid) and start_time(pid) == started


def read_pids(root):
    try:
        with open(os.path.join(root, "pids")) as f:
            pid, started, waiter, waiter_started = f.read().split()
        return int(pid), started, int(waiter), waiter_started
    except (OSError, ValueError):
        return 0, "", 0, ""


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
    for rel, data in spec.get("files", {}).items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(data)
    for need in spec.get("require", []):
        if not os.path.exists(expand(need)):
            print(json.dumps({"error": "missing " + expand(need)}))
            return
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
        print(json.dumps({"error": answer or "spark-submit did not start"}))
        return
    report(root, float(spec.get("app_wait", 30)))


def report(root, wait_seconds):
    """Print the run's processes and its application id, waiting up to ``wait_seconds`` for it."""
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
        print(json.dumps({"error": "no spark-submit was started in " + root}))
        return
    print(json.dumps({"pid": pid, "start": started, "waiter": w, "waiter_start": w_started,
                      "app_id": app_id}))


def shrug(signum, frame):
    """The waiter's handler for signals that must not stop it."""


def waiter(argv, root, work, env, report_fd):
    code = 0
    try:
        os.setsid()
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
        returncode = proc.wait()
        write_atomic(os.path.join(root, "exit_code"),
                     str(128 - returncode if returncode < 0 else returncode))
    except BaseException:
        code = 1
    finally:
        os._exit(code)


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
    try:
        with open(os.path.join(root, "exit_code")) as f:
            print(f.read().strip())
    except OSError:
        print("lost")


def cancel(root, grace):
    pid, started, _, _ = read_pids(root)
    if not alive(pid, started):
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.time() + grace
    while alive(pid, started) and time.time() < deadline:
        time.sleep(0.05)
    if alive(pid, started):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


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
    else:
        sys.exit("unknown command " + command)


if __name__ == "__main__":
    main(sys.argv[1:])
