"""The first process of a deck run's container: runs the script, keeps its output and exit code.

Copied into every run's container as ``/deck/bin/launch.py`` and started as
``python /deck/bin/launch.py SCRIPT ARG...`` (the script under this Python) or
``python /deck/bin/launch.py --exec PROGRAM ARG...`` (another program, such as spark-submit). Standard library and Python 3.5 syntax only: it
runs on whatever Python the image has. Why a launcher instead of running the script directly:

- stdout and stderr go to one file, ``/deck/output.log``, byte for byte and in the order the
  script wrote them, so a reader can resume at any byte offset (Docker's log API has no
  offsets, and its json-file driver rewrites bytes that are not UTF-8);
- the exit code lands in ``/deck/exit.json``, with the signal that stopped the container if one
  did, so deck tells "the script failed" from "someone stopped the container";
- as PID 1 it forwards SIGTERM/SIGINT/SIGHUP to the script's process group and reaps orphans.
"""

import json
import os
import signal
import sys

DECK = "/deck"
OUTPUT = DECK + "/output.log"
EXIT = DECK + "/exit.json"


def main(argv):
    program = argv[1:] if argv[:1] == ["--exec"] else [sys.executable] + argv
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
    record = {"code": code, "signal": received[0] if received else None}
    tmp = EXIT + ".tmp"
    with open(tmp, "w") as f:
        json.dump(record, f)
    os.rename(tmp, EXIT)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
