"""One Spark application launched by deck on a head node, seen over SSH.

``external_id`` is ``spark-submit pid N`` at launch and becomes the Spark application id
(``app-...``, ``application_...``) once the driver output shows one; the run's events hear of
the change (``RunEvents.external_id``: the keeper records it with the run). A script that
never starts a SparkContext keeps the pid form. The processes themselves are found through
the run folder's ``pids`` file on the head node, with their start times, so a reused pid is
never signalled.

Streams: output and metrics are files on the head node, read by the host-side runner
(``core/farside/runner.py``, ``follow``) from a byte offset. When the link drops, the reader
waits for it (``core.remote.link``: for ever, unless ``linkLossTimeout`` says how long),
reconnects and asks again from the offset it has delivered, so no byte is lost or repeated.
Cancel signals spark-submit's process group on the head node (TERM, then KILL): in client
mode that is the driver, and the master removes the application as soon as its driver is
gone; a YARN application in cluster mode is also killed with ``yarn application -kill``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator

from launchdeck.core.errors import ExecutionLost, TargetError, TargetUnreachable
from launchdeck.core.remote.commands import translate_errors
from launchdeck.core.targets.hostruns import runner

if TYPE_CHECKING:
    from launchdeck.core.remote.link import Link
    from launchdeck.core.targets.base import RunEvents


def format_id(app_id: str | None, pid: int) -> str:
    return app_id or f"spark-submit pid {pid}"


def app_id_of(external_id: str) -> str | None:
    from launchdeck.core.targets.spark.submit import find_app_id

    return find_app_id(external_id.encode())


class SparkExecution:
    """A spark-submit run in ``root`` (relative to the login user's home) on ``host``."""

    def __init__(self, host, root: str, external_id: str, *, link: "Link", events: "RunEvents",
                 program: str = "spark-submit", spark: bool = True) -> None:
        self.host = host
        #: What the runner started, for messages; ``spark=False`` (the remote target's plain
        #: Python) never looks for an application id in the output.
        self.program, self.spark = program, spark
        self.root = root
        self.external_id = external_id
        self.app_id = app_id_of(external_id)
        #: The link to the host, shared by the streams; waits for it as its policy says.
        self.link = link
        #: Told of the application id once it shows up in the output (and, through the link,
        #: of a lost link).
        self.events = events

    async def _retrying(self, attempt):
        """Run ``attempt()`` again once the link is back, while it is down."""
        return await self.link.until_reached(attempt)

    def found_app_id(self, app_id: str) -> None:
        self.app_id = self.external_id = app_id
        self.events.external_id(app_id)

    def _spot_app_id(self, tail: bytes, chunk: bytes) -> bytes:
        """Look for the application id in the output; return the tail for the next chunk."""
        from launchdeck.core.targets.spark.submit import find_app_id

        found = find_app_id(tail + chunk)
        if found:
            self.found_app_id(found)
        return (tail + chunk)[-64:]  # an id may straddle two chunks

    async def _stream(self, name: str, offset: int) -> AsyncIterator[bytes]:
        tail = b""
        while True:
            try:
                async with self.host.process(runner("follow", self.root, name,
                                                      str(offset))) as proc:
                    proc.stdin.write_eof()
                    self.link.up()
                    while chunk := await proc.stdout.read(1 << 16):
                        offset += len(chunk)
                        if self.spark and self.app_id is None and name == "output.log":
                            tail = self._spot_app_id(tail, chunk)
                        yield chunk
                    result = await proc.wait()
                if result.exit_status == 0:
                    return
                if result.exit_status is not None:
                    err = (result.stderr or b"").decode(errors="replace").strip()[-500:]
                    raise TargetError(f"{self.host.endpoint}: following {name} of run "
                                      f"{self.root} failed: {err}")
                raise TargetUnreachable(f"{self.host.endpoint}: link dropped")
            except TargetUnreachable as exc:
                await self.link.wait_until_back(exc)

    def logs(self, from_offset: int = 0) -> AsyncIterator[bytes]:
        return self._stream("output.log", from_offset)

    def metrics(self, from_offset: int = 0) -> AsyncIterator[bytes]:
        return self._stream("metrics.jsonl", from_offset)

    async def wait(self) -> int:
        async def attempt() -> str:
            result = await self.host.run(runner("wait", self.root))
            if result.exit_status != 0:
                raise TargetError(f"{self.host.endpoint}: waiting for run {self.root} failed: "
                                  + result.stderr.decode(errors="replace")[-500:])
            return result.stdout.decode().strip()

        answer = await self._retrying(attempt)
        if answer == "lost" or not answer.lstrip("-").isdigit():
            raise ExecutionLost(f"{self.program} of {self.app_id or self.root} ended while "
                                "nothing watched it on the head node; its exit code is "
                                "unknown, its output was kept")
        return int(answer)

    async def cancel(self, *, grace_seconds: float = 10.0) -> None:
        await self._retrying(lambda: self.host.run(
            runner("cancel", self.root, str(grace_seconds)), check=True))
        if self.app_id and self.app_id.startswith("application_"):
            # In YARN cluster mode the driver is not on the head node: ask YARN.
            await self.host.run(["sh", "-c", 'command -v yarn >/dev/null && '
                                 'yarn application -kill "$1"', "sh", self.app_id])

    async def collect_outputs(self, dest: Path) -> list[str]:
        """The run's ``outputs/`` as the host-side runner packs it: every hard-link name kept,
        sparse files written sparse here, and what is not a regular file listed, not lost."""
        import json
        import tempfile

        from launchdeck.core.targets.docker.archive import extract_outputs

        with tempfile.TemporaryFile() as spool:
            with translate_errors(self.host.endpoint, "copying outputs from"):
                async with self.host.process(runner("pack", self.root)) as proc:
                    proc.stdin.write_eof()
                    while chunk := await proc.stdout.read(1 << 16):
                        spool.write(chunk)
                    errors = await proc.stderr.read()
                    await proc.wait()
            report = errors.decode(errors="replace").strip().splitlines()
            try:
                host_skipped = json.loads(report[-1])["skipped"]
            except (IndexError, ValueError, KeyError, TypeError):
                raise TargetError(f"{self.host.endpoint}: packing the run's outputs failed: "
                                  f"{' '.join(report)[-300:] or 'no answer'}") from None
            spool.seek(0)
            return host_skipped + extract_outputs(spool, dest)

    async def release(self) -> None:
        # The snapshot stays in the host's store; only this run's folder goes.
        await self.host.run(["rm", "-rf", "--", self.root])
