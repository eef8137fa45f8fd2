"""Import asyncssh without its slow search for liboqs when there is no liboqs to find."""

from __future__ import annotations

import contextlib
import ctypes.util
import glob
import os
from typing import Iterator

_LIB_DIRS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib", "/usr/local/lib64",
             "/lib/*-linux-gnu", "/usr/lib/*-linux-gnu", "/opt/homebrew/lib")
_OQS_NAMES = ("oqs", "liboqs")


@contextlib.contextmanager
def without_liboqs_search() -> Iterator[None]:
    """Within the block, ``ctypes.util.find_library`` says at once that liboqs is absent.

    asyncssh looks for liboqs (for the sntrup761 key exchange) at import with find_library,
    which runs ``ldconfig -p`` and the compiler as subprocesses: 0.1 s or more for the two names
    it tries, paid by every deck command that speaks SSH. Where a liboqs file exists in the
    usual places or on LD_LIBRARY_PATH, the real search runs and finds it.
    """
    dirs = [*_LIB_DIRS, *filter(None, os.environ.get("LD_LIBRARY_PATH", "").split(":"))]
    if any(glob.glob(os.path.join(d, "liboqs.*")) for d in dirs):
        yield
        return
    real = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        return None if name in _OQS_NAMES else real(name)

    ctypes.util.find_library = find_library
    try:
        yield
    finally:
        ctypes.util.find_library = real
