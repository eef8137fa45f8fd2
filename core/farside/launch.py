"""The first process of a deck run's container: runs the script, keeps its output and exit code.

Copied into every run's container as ``/deck/bin/launch.py`` and started as
``python /deck/bin/launch.py [--env] SCRIPT ARG...`` (the script under this Python) or
``python /deck/bin/launch.py [--env] --exec PROGRAM ARG...`` (another program, such as
spark-submit), with ``--mirror`` after ``--env`` when deck reads the output on the container's
stdout. Standard library and Python 3.5 syntax only: it runs on whatever Python the image has.
Why a launcher instead of running the script directly:

- stdout and stderr go to one file, ``/deck/output.log``, byte for byte and in the order the
  script wrote them, so a reader can resume at any byte offset (Docker's log API has no
  offsets, and its json-file driver rewrites bytes that are not UTF-8);
- the exit code lands in ``/deck/exit.json``, with the signal that stopped the container if one
  did, so deck tells "the script failed" from "someone stopped the container";
- as PID 1 it forwards SIGTERM/SIGINT/SIGHUP to the script's process group and reaps orphans;
- ``./outputs/`` exists (empty) before the script starts, as on Workbench;
- with ``--env`` the run configuration's variables (``keyring:`` secrets among them) never
  enter the container's configuration, where ``docker inspect`` would show them: deck writes
  them on the container's stdin (attached before the start, closed after the first client:
  ``StdinOnce``), and the launcher reads them there first. If that stream ends short (the
  keeper died before it wrote them), a later keeper delivers them through ``docker exec`` on
  stdin (``--deliver``, below), into a 0600 file on a tmpfs (``/deck/secrets``, gone when the
  container stops); the launcher reads the file, deletes it, and starts the program.
- with ``--mirror`` a forked copy of the launcher (no new process image, no ``docker exec``)
  copies ``/deck/output.log`` to the container's stdout as ``follow.py`` does, ``END`` on
  stderr once the run ended and the file is copied whole: a launching deck attaches to that
  stdout before the start, as ``docker run`` does, and reads its first line there. The file
  stays the truth: a reader that lost the stream resumes from the file at its byte offset.
"""

import json
import os
import signal
import stat
import sys
import time

DECK = "/deck"
OUTPUT = DECK + "/output.log"
EXIT = DECK + "/exit.json"
SECRETS = DECK + "/secrets"
ENV_FILE = SECRETS + "/env.json"
#: Written once the launcher took the variables: a later delivery (a revived keeper's) is moot.
ENV_TAKEN = DECK + "/env-taken"
FOLLOW = DECK + "/bin/follow.py"
#: Seconds the mirror may take to copy the rest after the script ended (a reader that stopped
#: reading must not keep the container up: it resumes from the file).
MIRROR_GRACE = 5.0


def read_payload(stream):
    """``<length>\n<json>`` from ``stream`` as bytes, or None if it ends before the whole."""
    line = stream.readline()
    try:
        size = int(line.strip())
    except ValueError:
        return None  # nothing (no stdin attached: /dev/null), or not deck's framing
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def receive_environment():
    """The variables deck delivers: on stdin at the start, else (see ``deliver``) in a file,
    read once and deleted at once."""
    data = read_payload(sys.stdin.buffer)
    if data is not None:
        open(ENV_TAKEN, "w").close()
        return json.loads(data.decode("utf-8"))
    delay = 0.005
    while not os.path.exists(ENV_FILE):
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
    with open(ENV_FILE, "rb") as f:
        variables = json.loads(f.read().decode("utf-8"))
    open(ENV_TAKEN, "w").close()
    os.unlink(ENV_FILE)
    return variables


def deliver():
    """``--deliver``: stdin holds ``<length>\n<json>``; write it where the launcher waits."""
    data = read_payload(sys.stdin.buffer)
    if data is None:
        sys.stderr.write("deck: the run's environment was cut short\n")
        return 3
    if os.path.exists(ENV_TAKEN):
        return 0  # the launcher already has it (an earlier keeper delivered it)
    tmp = ENV_FILE + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.rename(tmp, ENV_FILE)
    return 0


def sockets_in(folder):
    """Sockets under ``folder``: the engine's archive drops them without a word, so deck is
    told here and lists them with what it did not collect."""
    found = []
    for parent, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(parent, name)
            try:
                if stat.S_ISSOCK(os.lstat(path).st_mode):
                    found.append(os.path.relpath(path, folder))
            except OSError:
                pass
    return sorted(found)


def start_mirror():
    """Fork the copy of the output file to this container's stdout (``--mirror``)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            follow = {"__name__": "deck_follow"}  # type: dict
            with open(FOLLOW) as source:
                exec(compile(source.read(), FOLLOW, "exec"), follow)
            code = follow["main"](OUTPUT, 0, EXIT)
            if code == 0:
                os.write(2, follow["END"])
        except BrokenPipeError:
            code = 0  # nobody reads any more: they resume from the file
        finally:
            os._exit(code)
    return pid


def wait_mirror(pid):
    """Let the mirror copy the rest (it stops once it sees the exit record), within a bound."""
    deadline = time.time() + MIRROR_GRACE
    while os.waitpid(pid, os.WNOHANG)[0] == 0:
        if time.time() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return
        time.sleep(0.01)


def main(argv):
    if argv[:1] == ["--deliver"]:
        return deliver()
    if argv[:1] == ["--env"]:
        argv = argv[1:]
        os.environ.update(receive_environment())
    mirror = argv[:1] == ["--mirror"]
    if mirror:
        argv = argv[1:]
    program = argv[1:] if argv[:1] == ["--exec"] else [sys.executable] + argv
    try:
        os.mkdir("outputs")  # scripts open('./outputs/model.pkl', 'wb') without creating it
    except OSError:
        pass  # already there (a folder of the snapshot), or a file of that name: the script's
    out = os.open(OUTPUT, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(out, 1)
            os.dup2(out, 2)
            os.execv(program[0], program)
        except BaseException as exc:
            message = "deck: cannot start %s: %s\n" % (program[0], exc)
            os.write(2, message.encode("utf-8", "replace"))
        finally:
            os._exit(127)
    mirror_pid = start_mirror() if mirror else None
    received = []

    def forward(signum, frame):
        received.append(signum)
        try:
            os.killpg(pid, signum)
        except OSError:
            pass

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    code = None
    while code is None:
        try:
            done, status = os.wait()
        except ChildProcessError:
            code = 127
            break
        if done == pid:
            code = 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        elif done == mirror_pid:
            mirror_pid = None  # ended early (its reader went away): nothing to wait for
    record = {"code": code, "signal": received[0] if received else None,
              "sockets": sockets_in("outputs")}
    tmp = EXIT + ".tmp"
    with open(tmp, "w") as f:
        json.dump(record, f)
    os.rename(tmp, EXIT)
    if mirror_pid is not None:
        wait_mirror(mirror_pid)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
