"""The executors' Python environment on a Spark cluster: one venv per content hash.

What is built: the pip list of ``conda_dependencies.yml`` installed with ``python3 -m venv`` +
pip into ``~/.launchdeck/envs/<hash>/`` on the head node, then packed (without pip itself) into
``~/.launchdeck/envs/<hash>.tar.gz``. A run ships the archive with ``--archives
<archive>#environment`` and sets ``spark.pyspark.python=./environment/bin/python``: every
executor, on any worker, unpacks it in its own working folder, so workers need not share the
head node's filesystem. They need the same base interpreter at the same path as the head node
(the venv's ``bin/python`` is a link to it), as with venv-pack. The driver (client mode) uses
the unpacked venv on the head node directly.

The hash covers the pip list, the interpreter and this recipe's version, so an unchanged
environment is found by one ``test -f`` and never rebuilt; a lock file keeps two prepares of
the same environment from building it twice. No conda is assumed on the cluster: the conda
packages of the file are installed with pip, translated as for a Docker base image without
conda (``core.images.condapip``; the build log lists each translation), and a ``python`` entry
is checked against the head node's interpreter. A CA bundle for pip (``DECK_BUILD_CA_BUNDLE``
or ``buildCaBundle``, see ``core.images.settings``) is copied to the head node for the build.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from launchdeck.core.errors import EnvironmentBuildError, TargetError
from launchdeck.core.images import condapip
from launchdeck.core.remote.commands import decoded

if TYPE_CHECKING:
    from launchdeck.core.config.conda import CondaDependencies
    from launchdeck.core.remote.commands import SSHHost
    from launchdeck.core.targets.base import Progress

#: 2: conda packages are installed with pip (translated by core.images.condapip).
RECIPE_VERSION = 2
ENVS = ".launchdeck/envs"

_BUILD = r'''set -e
h=$1; py=$2; shift 2
envs="$HOME/.launchdeck/envs"; d="$envs/$h"
mkdir -p "$envs"
if command -v flock >/dev/null 2>&1; then exec 9>"$envs/$h.lock"; flock 9; fi
if [ -f "$d/.deck-ready" ] && "$d/bin/python" -c "" 2>/dev/null; then
  echo "environment $h is already built"; exit 0
fi
rm -rf "$d" "$d.tar.gz"
if [ "$1" = "--ca" ]; then
  shift; cat > "$envs/$h.ca.pem"; export PIP_CERT="$envs/$h.ca.pem"
fi
echo "creating a virtual environment with $py"
"$py" -m venv "$d"
echo "installing: $*"
"$d/bin/python" -m pip install --progress-bar off --disable-pip-version-check \
    --no-input "$@" 2>&1
echo "packing the environment for executors"
tar -czf "$d.tar.gz.tmp" -C "$d" --exclude='*/site-packages/pip' \
    --exclude='*/site-packages/pip-*' .
mv "$d.tar.gz.tmp" "$d.tar.gz"
rm -f "$envs/$h.ca.pem"
touch "$d/.deck-ready"
echo "environment $h is ready"'''


@dataclass(frozen=True)
class ExecutorEnvironment:
    """A built (or to be built) environment; paths are relative to the login user's home."""

    hash: str
    python: str
    packages: tuple[str, ...]
    #: What the build log says about the conda entries (translations, skipped libraries).
    notes: tuple[str, ...] = field(default=(), compare=False)
    #: The conda file's ``python`` entry, checked against the head node's interpreter.
    python_entry: condapip.Requirement | None = field(default=None, compare=False)
    #: Normalized package name -> the line of the conda file that asks for it.
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def folder(self) -> str:
        return f"{ENVS}/{self.hash}"

    @property
    def archive(self) -> str:
        return f"{ENVS}/{self.hash}.tar.gz"


def executor_environment(conda: "CondaDependencies | None", *, python: str,
                         user_managed: bool = False) -> ExecutorEnvironment | None:
    """The environment a run needs, or None when the cluster's own Python is used as is."""
    if conda is None or user_managed:
        return None
    translation = condapip.translate(conda)
    pip_list, skipped = condapip.pip_entries(conda)
    packages = translation.pip_lines + pip_list
    if not packages:
        return None
    meaning = {"recipe": RECIPE_VERSION, "translation": condapip.TRANSLATION_VERSION,
               "python": python, "pip": packages}
    digest = hashlib.sha256(json.dumps(meaning, sort_keys=True).encode()).hexdigest()[:24]
    notes = ((f"the conda packages of {conda.path.name} are installed with pip "
              "(no conda on the cluster):",) + tuple(f"  {n}" for n in translation.notes)
             if translation.notes else ()) + tuple(skipped)
    return ExecutorEnvironment(digest, python, tuple(packages), notes, translation.python,
                               condapip.sources(conda, translation))


async def is_built(host: "SSHHost", env: ExecutorEnvironment) -> bool:
    # An interpreter that no longer runs (the head node's python3 upgraded) means rebuild.
    # The marker's time is when it was last prepared: a budget removes the least recent first.
    result = await host.run(["sh", "-c", 'test -f "$1/.deck-ready" && test -f "$2" && '
                             '"$1/bin/python" -c "" && touch "$1/.deck-ready"', "sh",
                             env.folder, env.archive])
    return result.exit_status == 0


async def list_built(host: "SSHHost") -> list[tuple[str, int]]:
    """(hash, bytes on disk) of the environments built on the head node, largest first."""
    return sorted(((env.hash, env.size) for env in await list_environments(host)),
                  key=lambda item: -item[1])


#: ``sh -c _LIST sh ENVS``: "hash kilobytes built-at" of each built environment (the venv
#: and its archive together).
_LIST = r'''cd "$HOME/$1" 2>/dev/null || exit 0
for d in */; do h=${d%/}; [ -f "$h/.deck-ready" ] || continue
  k=$(du -sk "$h" "$h.tar.gz" 2>/dev/null | awk '{s+=$1} END {print s+0}')
  echo "$h $k $(stat -c %Y "$h/.deck-ready" 2>/dev/null || echo 0)"
done; exit 0'''

#: ``sh -c _REMOVE sh ENVS HASH...``: remove each environment unless it is being built (its
#: lock is held: taken first, so no build starts meanwhile) or a process on the head node uses
#: it (spark-submit names the archive, the driver runs its python): runs of any project and any
#: machine count. This script's own command line holds no "envs/HASH" (the folder and the
#: hashes are separate arguments), and grep's is not in the list the shell expanded before it.
#: The lock file stays: a build may be waiting on it.
_REMOVE = r'''cd "$HOME/$1" 2>/dev/null || exit 0; shift
for h in "$@"; do
  [ -d "$h" ] || [ -f "$h.tar.gz" ] || { echo "gone $h"; continue; }
  if ( if command -v flock >/dev/null 2>&1; then flock -n 9 || exit 3; fi
       grep -qsaF -- "envs/$h" /proc/[0-9]*/cmdline && exit 3
       rm -rf "$h.tar.gz" "$h" ) 9>"$h.lock"
  then echo "removed $h"; else echo "busy $h"; fi
done'''


@dataclass(frozen=True)
class BuiltEnvironment:
    """An executor environment found on the head node."""

    hash: str
    size: int       #: bytes of the venv and its archive
    built_at: int   #: unix time it was built or last found by a prepare


async def list_environments(host: "SSHHost") -> list[BuiltEnvironment]:
    """Every environment built on the head node, oldest first."""
    result = await host.run(["sh", "-c", _LIST, "sh", ENVS])
    found = []
    for line in result.stdout.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            found.append(BuiltEnvironment(parts[0], int(parts[1]) * 1024, int(parts[2])))
    return sorted(found, key=lambda env: (env.built_at, env.hash))


async def remove_environments(host: "SSHHost", hashes: list[str]) -> dict[str, str]:
    """Remove environments by hash; hash -> "removed", "busy" (in use or being built) or
    "gone"."""
    if not hashes:
        return {}
    result = await host.run(["sh", "-c", _REMOVE, "sh", ENVS, *hashes])
    said = {}
    for line in result.stdout.decode(errors="replace").splitlines():
        state, _, name = line.partition(" ")
        said[name] = state
    return {h: said.get(h, "busy") for h in hashes}


async def build(host: "SSHHost", env: ExecutorEnvironment, *, progress: "Progress",
                ca_bundle: Path | None = None) -> bool:
    """Build ``env`` on the head node unless it is there; True when something was built."""
    if await is_built(host, env):
        progress(f"executor environment {env.hash} is ready (nothing to build)")
        return False
    await _check_python(host, env, progress)
    for note in env.notes:
        progress(note)
    args = ["sh", "-c", _BUILD, "sh", env.hash, env.python]
    data = b""
    if ca_bundle is not None:
        try:
            data = ca_bundle.read_bytes()
        except OSError as exc:
            raise TargetError(f"cannot read the CA bundle {ca_bundle}: {exc.strerror}") from None
        args.append("--ca")
    args += list(env.packages)
    tail: list[str] = []
    async with host.process(args) as proc:
        if data:
            proc.stdin.write(data)
        proc.stdin.write_eof()
        buffer = b""
        while chunk := await proc.stdout.read(4096):
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                text = line.decode(errors="replace").rstrip()
                tail = (tail + [text])[-200:]  # kept to trace a failure to its line
                progress(text)
        if buffer:
            progress(buffer.decode(errors="replace"))
        result = await proc.wait()
    if result.exit_status != 0:
        err = decoded(result.stderr).strip()
        detail = "\n".join(tail[-8:] + ([err[-1500:]] if err else []))
        missing = condapip.not_found(tail, env.sources)
        if missing:
            detail = f"{missing}\n{detail}"
        raise EnvironmentBuildError(
            f"{host.endpoint}: building the executor environment {env.hash} failed "
            f"(exit {result.exit_status}):\n{detail}")
    return True


async def _check_python(host: "SSHHost", env: ExecutorEnvironment,
                        progress: "Progress") -> None:
    """The conda file's ``python`` entry against the head node's interpreter (a note, or an
    error for another major version: see ``condapip.check_python``)."""
    if env.python_entry is None:
        return
    result = await host.run([env.python, "-c", "import sys; print('%d.%d.%d' % "
                             "sys.version_info[:3])"])
    have = result.stdout.decode(errors="replace").strip() if result.exit_status == 0 else None
    note = condapip.check_python(env.python_entry, have or None,
                                 where_python=f"the head node's {env.python}")
    if note:
        progress(note)
