"""deck: unpack /deck (launcher, runtime, code) from stdin as root, then run the launcher."""
# Sent whole as ``python -I -c`` (the first process of a run's container whose image runs as
# root): stdin holds ``<length>\n<tar>`` and then what the launcher reads. It saves the engine
# an archive PUT before the start (on Docker 20.10 a re-exec of dockerd and a mount, the
# largest cost between `deck submit` and the first line). The tar is read whole before a byte
# is unpacked: when it ends short (the keeper died), nothing is, and a later keeper puts the
# files in through the engine (it looks for the launcher) before it hands the variables over
# (through the launcher, so once they are there the files are whole).
import os
import sys
import tarfile
import tempfile
import time

LAUNCH = "/deck/bin/launch.py"
ENV_FILE = "/deck/secrets/env.json"  # the launcher's (see there)
stdin = sys.stdin.buffer
try:
    left = int(stdin.readline())
except ValueError:
    left = -1
spool = tempfile.TemporaryFile()
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
            # deck's own tar: owners and modes as it says (3.14 would drop the 0777 of folders)
            tar.extraction_filter = tarfile.fully_trusted_filter
        tar.extractall("/")
spool.close()
if not os.path.exists(LAUNCH):
    while not os.path.exists(ENV_FILE):
        time.sleep(0.05)
sys.argv[0] = LAUNCH
with open(LAUNCH) as source:
    exec(compile(source.read(), LAUNCH, "exec"))
