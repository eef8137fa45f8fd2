"""deck: put /deck (launcher, runtime, code) in place from stdin, then run the launcher."""
# Sent whole as ``python -I -c``, the first process of a run's container. Its stdin starts
# with ``<length>\n``: a tar of ``/deck`` of that length (an image that runs as root), or
# ``0`` once the files went in through the engine (an archive PUT alongside the start); what
# follows is the launcher's. A tar saves the engine an archive PUT before the start (on Docker
# 20.10 a re-exec of dockerd and a mount, the largest cost between `deck submit` and the first
# line). The tar is read whole before a byte is unpacked. When stdin ends short (the keeper
# died), this waits for the variables file: a later keeper puts the files in through the
# engine (the launcher has not taken the variables), then hands them over through the
# launcher (``--deliver``), so once that file is there the files are whole.
import os
import sys
import time

LAUNCH = "/deck/bin/launch.py"
ENV_FILE = "/deck/secrets/env.json"  # the launcher's (see there)
stdin = sys.stdin.buffer
try:
    left = int(stdin.readline())
except ValueError:
    left = -1
ready = left == 0  # the files went in through the engine
if left > 0:
    import tarfile
    import tempfile

    with tempfile.TemporaryFile() as spool:
        while left > 0:
            chunk = stdin.read(min(left, 1 << 20))
            if not chunk:
                break
            spool.write(chunk)
            left -= len(chunk)
        if left == 0:
            spool.seek(0)
            with tarfile.open(fileobj=spool) as tar:
                if hasattr(tarfile, "fully_trusted_filter"):
                    # deck's own tar: owners and modes as it says (3.14 drops folders' 0777)
                    tar.extraction_filter = tarfile.fully_trusted_filter
                tar.extractall("/")
            ready = True
if not ready:
    while not os.path.exists(ENV_FILE):
        time.sleep(0.05)
sys.argv[0] = LAUNCH
with open(LAUNCH) as source:
    exec(compile(source.read(), LAUNCH, "exec"))
