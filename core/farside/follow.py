"""Inside a run's container: copy a file to stdout from a byte offset until the run has ended.

Started by deck with ``docker exec`` as ``python -c SOURCE PATH OFFSET DONE_FILE``;
exits 0 once ``DONE_FILE`` exists and the file is read to its end. Its output starts with
``MAGIC``: when an exec fails (the container stopped just then) the engine writes its own error
text into the same stream, and that must never be taken for the run's output. Works the same over a
forwarded socket to a remote engine, where nothing of the container's file system is visible
to deck. Standard library and Python 3.5 syntax only.

The far-side counterpart of ``core.filetail.follow`` (which deck uses on files it can see):
alike in shape, kept apart because this file runs alone in a container, where no deck module
can be imported.
"""

import os
import sys
import time

MAGIC = b"deck-follow 1\n"
#: Written on stderr by the launcher's mirror (``launch.py --mirror``) once it copied the whole
#: file of a run that ended: its stdout stream ends then for that reason, not a cut-off.
END = b"deck-follow end\n"


def write_all(data):
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]


def main(path, offset, done):
    write_all(MAGIC)
    fd = None
    delay = 0.01
    # Looked at every 10 ms until a second passes without news: a run's first line (the one a
    # user waits for) shows at once; a quiet run is looked at every 0.1 s.
    quiet_since = time.time()
    while True:
        # Asked before reading: once the run has ended, this pass reads to the true end.
        finished = os.path.exists(done)
        if fd is None:
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                fd = None
        if fd is not None:
            while True:
                data = os.pread(fd, 1 << 16, offset)
                if not data:
                    break
                write_all(data)
                offset += len(data)
                delay = 0.01
                quiet_since = time.time()
        if finished:
            return 0
        time.sleep(delay)
        if time.time() - quiet_since > 1.0:
            delay = min(delay * 2, 0.1)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
    except BrokenPipeError:  # the reader went away; nothing to tell anyone
        sys.exit(0)
