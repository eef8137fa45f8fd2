"""The protocol every compute target implements, and what a target is given to run.

A target knows how to check itself, prepare an environment, launch a run and attach to a run it
launched earlier. It never touches the run history, the event bus or the dashboard: the run's
keeper (``core.runs.keeper``) drives it and records what it reports. Third-party exceptions are
translated into ``core.errors`` inside each target.

An ``Execution`` is one launched run on a target. Its output and metrics are byte streams that
can be read again from any offset, so a keeper that died (or a link that dropped) resumes exactly
where it stopped: no line lost, none repeated.

What a target tells about a run while it goes (progress, a lost link, an id or an environment
that becomes known) it tells the ``RunEvents`` it was given by ``launch`` or ``attach``. What a
target can do beyond the protocol it declares in ``capabilities``; callers get the typed view of
such an ability from ``core.targets.capabilities``, never by probing attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator, Callable, Protocol, runtime_checkable

from launchdeck.core.config.framework import Framework  # a run spec's; targets import it here

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.config.conda import CondaDependencies
    from launchdeck.core.config.spark import SparkDependencies
    from launchdeck.core.snapshot.store import ContentStore

#: Called with one line of human-readable progress (build steps, sync counts).
Progress = Callable[[str], None]

#: Where the stdlib metrics helper (``deckrun``, ``azureml.logging``) lives; a target puts this
#: folder on the run's PYTHONPATH (mounting or copying it where the run is remote).
RUNTIME_DIR = Path(__file__).resolve().parent.parent / "runtime"

#: How many runs a target on another machine takes at once when its ``.compute`` file does not
#: say (``maxConcurrentRuns``): this machine's core count says nothing about that one.
REMOTE_DEFAULT_RUNS = 4


class Capability(StrEnum):
    """An ability beyond ``ComputeTarget`` that a target class declares in ``capabilities``.

    Each has a typed protocol and one accessor in ``core.targets.capabilities``.
    """

    HOST_KEY = "host key"  #: reached over SSH; an unknown host key is accepted by fingerprint
    ENVIRONMENT_IMAGES = "environment images"  #: environments are engine images, by content tag
    EXECUTOR_ENVIRONMENTS = "executor environments"  #: venvs built on a head node for executors
    HOST_SLOTS = "host slots"  #: ``maxConcurrentRuns`` kept on the host, for every machine


class RunEvents(Protocol):
    """What a target tells about one run while it launches and goes; the keeper records it.

    Calls come on the event loop's thread and must return at once (no I/O that may block).
    """

    def progress(self, line: str) -> None:
        """One line of human-readable progress (sync counts, build steps) for the run's log."""
        ...

    def link_state(self, lost_since: datetime | None) -> None:
        """The link to the run's host was lost at ``lost_since`` (UTC), or is back (None)."""
        ...

    def external_id(self, value: str) -> None:
        """The run's id on the target became known or changed (a Spark application id)."""
        ...

    def environment(self, environment_id: str) -> None:
        """The environment the launch used (an image), also when found rather than prepared."""
        ...


class _NoEvents:
    """Hears everything and keeps nothing: for callers that do not follow a run."""

    def progress(self, line: str) -> None:
        pass

    def link_state(self, lost_since: datetime | None) -> None:
        pass

    def external_id(self, value: str) -> None:
        pass

    def environment(self, environment_id: str) -> None:
        pass


NO_EVENTS: RunEvents = _NoEvents()


@dataclass(frozen=True, kw_only=True)
class EnvironmentSpec:
    """Everything that decides a run's environment; the same spec gives the same image tag."""

    project_dir: Path
    compute: "ComputeConfig"
    conda: "CondaDependencies | None"
    spark: "SparkDependencies | None"
    framework: Framework = Framework.PYTHON
    #: The run configuration's name, for messages such as "run deck prepare -c NAME".
    runconfig: str = ""


@dataclass(frozen=True, kw_only=True)
class RunSpec:
    """What a target needs to launch one run.

    ``run_dir`` is the run's folder in history on this machine (``.deck/runs/<id>``); a target may
    keep its own files under ``run_dir / "target"``. ``snapshot`` is the fingerprint of the run's
    manifest in ``store``; the target materializes or syncs it. ``arguments`` are the script's
    arguments after ``$file`` substitution; ``environment`` holds only the runconfig's variables
    (the target adds its own, such as PYTHONPATH and DECK_METRICS_FILE).
    ``interpreter_options`` go between the interpreter and the script
    (``python -u script.py``).
    """

    run_id: str
    run_dir: Path
    store: "ContentStore"
    snapshot: str
    script: str
    arguments: tuple[str, ...]
    environment: dict[str, str] = field(default_factory=dict)
    env: EnvironmentSpec
    #: Options for the Python interpreter itself (``-u``, ``-W ignore``): the ArgumentVector's
    #: entries before ``$file``. Every target that starts Python puts them before the script.
    interpreter_options: tuple[str, ...] = ()


class Execution(Protocol):
    """One launched run on a target."""

    #: What identifies the run on the target: a pid, a container id, a Spark application id.
    #: An id that becomes known later is told to the run's ``RunEvents.external_id``.
    external_id: str

    def logs(self, from_offset: int = 0) -> AsyncIterator[bytes]:
        """The run's combined stdout and stderr from a byte offset, live until the run ends."""
        ...

    def metrics(self, from_offset: int = 0) -> AsyncIterator[bytes]:
        """The metrics channel (JSON lines written by ``deckrun``) from a byte offset, live."""
        ...

    async def wait(self) -> int:
        """Wait for the run to end; return its exit code."""
        ...

    async def cancel(self, *, grace_seconds: float = 10.0) -> None:
        """Stop the run: a polite signal first, a forced stop after the grace period."""
        ...

    async def collect_outputs(self, dest: Path) -> "list[str] | None":
        """Copy what the run wrote under ``./outputs/`` into ``dest``, never following links out.

        Returns what was left out (``"path: why"``: links, FIFOs, sockets, devices), which the
        keeper puts in the run's log and ``runs show``; None if the target cannot tell.
        """
        ...

    async def release(self) -> None:
        """Free what the run held on the target (container, remote folder) once history is safe."""
        ...


@runtime_checkable
class ComputeTarget(Protocol):
    """A place where runs execute.

    ``launch`` and ``attach`` get the run's ``RunEvents``: a target behind a network link tells
    it when the link is lost and back (the run stays Running, shown "disconnected since"); a
    launch tells the environment it used (recorded as the run's ``environment_id`` even without
    a prepare) and may report progress, which goes to the run's log.
    """

    name: str
    #: The optional abilities this target has (see ``Capability``); a class attribute.
    capabilities: frozenset[Capability]

    @property
    def max_concurrent_runs(self) -> int:
        """How many runs may execute at once; more wait in the queue."""
        ...

    async def check(self) -> dict[str, str]:
        """Reach the target and report facts about it (versions, free disk, fingerprints)."""
        ...

    async def prepare(self, env: EnvironmentSpec, *, progress: Progress) -> str:
        """Build or find the environment; return its id (an image tag, an env hash, or "")."""
        ...

    async def launch(self, spec: RunSpec, events: RunEvents) -> Execution:
        """Start the run; return as soon as it is running."""
        ...

    async def attach(self, spec: RunSpec, external_id: str, events: RunEvents) -> Execution:
        """Reconnect to a run launched earlier, perhaps by a process that has since died."""
        ...

    async def close(self) -> None:
        """Close connections this target opened."""
        ...
