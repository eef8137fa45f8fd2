"""The contract every compute target keeps (``core/targets/base.py``), run against each of them.

The same cases run on the fake target and on the five real ones, the real ones against the
daemons the suite starts anyway (Docker Engine, sshd on 127.0.0.1, the Spark standalone
cluster behind it). One prepared project per target per session (``bench``): its scripts, its
snapshot, its environment image. A run that several cases look at (``finished``) runs once per
target; each case then asserts one promise about it.

Every launch and attach goes through ``launch`` and ``attach`` below, and everything a target
reports about a run (``RunEvents``) lands in one ``RecordedEvents``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import pytest

from launchdeck.core.targets.base import EnvironmentSpec, Framework, RunSpec
from tests.fixtures.events import RecordedEvents
from tests.fixtures.waiting import until

#: Bounds a run that would otherwise hang the suite; never an expectation about speed.
HANG = 300.0


# -- what a target reports about a run, and the one place the suite calls launch/attach ------

async def launch(target, spec: RunSpec, events: RecordedEvents):
    return await target.launch(spec, events)


async def attach(target, spec: RunSpec, external_id: str, events: RecordedEvents):
    return await target.attach(spec, external_id, events)


# -- one prepared project per target -------------------------------------------------------

FINISHED = """\
import json, os, sys
import deckrun
print("outputs at start:", sorted(os.listdir("outputs")), flush=True)
print("variable:", json.dumps(os.environ.get("CONTRACT_VARIABLE")), flush=True)
for i in range(int(sys.argv[1])):
    print("out %d" % i, flush=True)
    print("err %d" % i, file=sys.stderr, flush=True)
    deckrun.log("step", i)
os.makedirs("outputs/sub/deeper", exist_ok=True)
open("outputs/sub/deeper/nested.txt", "w").write("nested\\n")
os.symlink("/etc/passwd", "outputs/passwd")
sys.exit(int(sys.argv[2]))
"""

COUNTER = """\
import sys, time
for i in range(int(sys.argv[1])):
    print("line %d" % i, flush=True)
    time.sleep(0.05)
"""

POLITE = """\
import time
print("started", flush=True)
time.sleep(600)
"""

STUBBORN = """\
import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("started", os.getpid(), flush=True)
time.sleep(600)
"""

SHOW_OPTIONS = "import sys\nprint(sys.flags.optimize, sys.warnoptions, sys.argv[1:])\n"

SCRIPTS = {"finished.py": FINISHED, "counter.py": COUNTER, "polite.py": POLITE,
           "stubborn.py": STUBBORN, "show_options.py": SHOW_OPTIONS}

#: A variable value that a shell, a JSON hop or an environment file would all get wrong.
NASTY = "a b\n$HOME `id` \"dq\" 'sq' \\ ;|&* é 日本 "


@dataclass
class Bench:
    """One target kind with its project, ready to run the contract's scripts."""

    kind: str
    root: Path
    env: EnvironmentSpec
    store: Any
    snapshot: str
    #: A fresh target object with its own connections, and how to close them.
    opener: Callable[[], tuple[Any, Callable]]
    #: Whether what a run held on the target (folder, container) is gone.
    released: Callable[[RunSpec, str], bool]
    #: spark-submit writes its own log lines into the run's output, around the script's.
    adds_output_lines: bool = False
    #: The exit code a run stopped by SIGTERM, and one stopped by SIGKILL, ends with. None:
    #: the code is not the script's (spark-submit's JVM ends at SIGTERM even when its driver
    #: script ignores it; the runner then kills the driver after the grace period).
    terminated_code: int = 128 + 15
    killed_code: int | None = 128 + 9
    #: Whether a run's processes are this machine's (the SSH hosts of the suite are this
    #: machine seen through sshd), so a case can see that a script process has ended.
    pids_visible: bool = True

    def spec(self, script: str, *args: str, environment: dict[str, str] | None = None,
             interpreter_options: tuple[str, ...] = ()) -> RunSpec:
        run_id = f"contract-{self.kind}-{secrets.token_hex(4)}"
        run_dir = self.root.parent / "runs" / run_id
        run_dir.mkdir(parents=True)
        return RunSpec(run_id=run_id, run_dir=run_dir, store=self.store, snapshot=self.snapshot,
                       script=script, arguments=args, environment=environment or {},
                       env=self.env, interpreter_options=interpreter_options)

    @contextlib.asynccontextmanager
    async def target(self) -> AsyncIterator[Any]:
        target, close = self.opener()
        try:
            yield target
        finally:
            await target.close()
            await close()

    @contextlib.asynccontextmanager
    async def running(self, script: str, *args: str, **spec_options):
        """A launched run (spec, execution, events) that is stopped and released afterwards."""
        spec = self.spec(script, *args, **spec_options)
        events = RecordedEvents()
        async with self.target() as target:
            execution = await launch(target, spec, events)
            try:
                yield spec, execution, events
            finally:
                with contextlib.suppress(Exception):  # never hide what the case found
                    await asyncio.wait_for(execution.cancel(grace_seconds=0), HANG)
                    await asyncio.wait_for(execution.release(), HANG)


def _write_project(root: Path, compute_name: str, compute: str) -> None:
    (root / "aml_config").mkdir(parents=True)
    (root / "aml_config" / f"{compute_name}.compute").write_text(compute)
    for name, text in SCRIPTS.items():
        (root / name).write_text(text)


def _ssh_compute(kind: str, server, extra: str = "") -> str:
    return (f"type: {kind}\naddress: {server.host}\nport: {server.port}\n"
            f"username: {server.user}\nidentityFile: {server.client_key}\n{extra}")


def _no_container(spec: RunSpec, external_id: str) -> bool:
    return subprocess.run(["docker", "inspect", external_id], capture_output=True).returncode != 0


def _make_bench(kind: str, request, folder: Path) -> Bench:
    from launchdeck.core.config.compute import load_compute
    from launchdeck.core.snapshot.store import ContentStore

    root = folder / "project"
    framework = Framework.PYTHON
    options: dict[str, Any] = {}
    if kind in ("fake", "local"):
        # The fake reads no .compute file; its spec carries a local one all the same.
        _write_project(root, kind, "type: local\n")
        options["released"] = lambda spec, _: not (spec.run_dir / "target" / "work").exists()
    elif kind == "docker":
        _write_project(root, kind, f"type: docker\nbaseDockerImage: "
                                   f"{request.getfixturevalue('docker_engine')}\n")
        options["released"] = _no_container
        options["pids_visible"] = False
    else:
        server = request.getfixturevalue("ssh_server")
        known_hosts = server.write_known_hosts(folder / "known_hosts")
        if kind == "remotedocker":
            base = request.getfixturevalue("docker_engine")
            _write_project(root, kind, _ssh_compute(kind, server, f"baseDockerImage: {base}\n"))
            options["released"] = _no_container
            options["pids_visible"] = False
        elif kind == "remote":
            _write_project(root, kind, _ssh_compute(kind, server))
            options["released"] = lambda spec, _: not (
                server.home / ".launchdeck/remote/runs" / spec.run_id).exists()
        else:
            cluster = request.getfixturevalue("spark_cluster")
            _write_project(root, kind, _ssh_compute("cluster", server, (
                f"sparkMaster: {cluster.master}\n"
                f"sparkSubmitLocation: {cluster.spark_submit}\n")))
            framework = Framework.PYSPARK
            options["released"] = lambda spec, _: not (
                server.home / ".launchdeck/spark/runs" / spec.run_id).exists()
            options["adds_output_lines"] = True
            options["killed_code"] = None
        options["known_hosts"] = known_hosts
    compute = load_compute(root / "aml_config" / f"{kind}.compute")
    env = EnvironmentSpec(project_dir=root, compute=compute, conda=None, spark=None,
                          framework=framework, runconfig=kind)
    store = ContentStore(folder / "store")
    known_hosts = options.pop("known_hosts", None)
    bench = Bench(kind=kind, root=root, env=env, store=store,
                  snapshot=store.snapshot(root).fingerprint,
                  opener=lambda: _open(kind, compute, root, known_hosts), **options)
    asyncio.run(_prepare(bench))
    return bench


def _open(kind: str, compute, root: Path, known_hosts: Path | None):
    """A new target object of ``kind``; a target over SSH gets a pool of its own."""
    async def nothing() -> None:
        pass

    if kind == "fake":
        from launchdeck.core.targets.fake import FakeTarget

        return FakeTarget(), nothing
    if kind == "local":
        from launchdeck.core.targets.local.pyspark import LocalTargetWithSpark

        return LocalTargetWithSpark(compute), nothing
    if kind == "docker":
        from launchdeck.core.targets.docker.target import DockerTarget

        return DockerTarget(compute, project_dir=root), nothing
    from launchdeck.core.remote.connection import SSHPool

    pool = SSHPool(config_paths=[], known_hosts=known_hosts)
    if kind == "remotedocker":
        from launchdeck.core.targets.docker.remote import RemoteDockerTarget as cls
    elif kind == "remote":
        from launchdeck.core.targets.remote.target import RemoteTarget as cls
    else:
        from launchdeck.core.targets.spark.target import SparkTarget as cls
    return cls(compute, project_dir=root, pool=pool), pool.close


async def _prepare(bench: Bench) -> None:
    """Build or find the environment once per session, as ``deck prepare`` would."""
    async with bench.target() as target:
        await target.prepare(bench.env, progress=lambda _: None)


TARGETS = [
    pytest.param("fake", id="fake"),
    pytest.param("local", id="local"),
    pytest.param("docker", id="docker", marks=pytest.mark.docker),
    pytest.param("remotedocker", id="remotedocker", marks=[pytest.mark.ssh, pytest.mark.docker]),
    pytest.param("remote", id="remote", marks=pytest.mark.ssh),
    pytest.param("cluster", id="cluster", marks=pytest.mark.spark),
]
#: Targets that start Python themselves. spark-submit starts the driver's Python and takes no
#: interpreter options: a cluster run with any is refused at submit (core.runs.runspec).
PYTHON_TARGETS = [p for p in TARGETS if p.values[0] != "cluster"]


@pytest.fixture(scope="session", params=TARGETS)
def bench(request, tmp_path_factory) -> Bench:
    return _make_bench(request.param, request, tmp_path_factory.mktemp(request.param))


# -- one finished run per target, looked at by several cases --------------------------------

LINES = 40
EXIT_CODE = 3
OFFSETS = (0, 1, 17, 100, 255)


@dataclass
class FinishedRun:
    spec: RunSpec
    external_id: str
    output: bytes
    #: ``logs(offset)`` read again after the end, for each of OFFSETS and the output's length.
    from_offsets: dict[int, bytes]
    metrics: bytes
    exit_code: int
    outputs: Path
    skipped: list[str] | None
    released: bool
    events: RecordedEvents


async def _finish(bench: Bench, dest: Path) -> FinishedRun:
    async with bench.running("finished.py", str(LINES), str(EXIT_CODE),
                             environment={"CONTRACT_VARIABLE": NASTY}) as (spec, run, events):
        output, metrics, code = await asyncio.wait_for(asyncio.gather(
            _read(run.logs(0)), _read(run.metrics(0)), run.wait()), HANG)
        from_offsets = {offset: await _read(run.logs(offset))
                        for offset in (*OFFSETS, len(output))}
        skipped = await run.collect_outputs(dest)
        await run.release()
        return FinishedRun(spec=spec, external_id=run.external_id, output=output,
                           from_offsets=from_offsets, metrics=metrics, exit_code=code,
                           outputs=dest, skipped=skipped,
                           released=bench.released(spec, run.external_id), events=events)


@pytest.fixture(scope="session")
def finished(bench, tmp_path_factory) -> FinishedRun:
    return asyncio.run(_finish(bench, tmp_path_factory.mktemp(f"outputs-{bench.kind}")))


async def _read(stream) -> bytes:
    return b"".join([chunk async for chunk in stream])


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs on this machine (a zombie has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def _script_lines(output: bytes, pattern: str) -> list[str]:
    return [line for line in output.decode(errors="replace").splitlines()
            if re.fullmatch(pattern, line)]


async def _read_until(execution, needle: "bytes | re.Pattern[bytes]") -> bytes:
    seen = b""
    async for chunk in execution.logs(0):
        seen += chunk
        if needle.search(seen) if isinstance(needle, re.Pattern) else needle in seen:
            return seen
    raise AssertionError(f"{needle!r} never came; got {seen[-2000:]!r}")


# -- the cases ------------------------------------------------------------------------------

def test_stdout_and_stderr_lines_arrive_once_in_the_order_written(finished, bench):
    expected = [f"{stream} {i}" for i in range(LINES) for stream in ("out", "err")]
    assert _script_lines(finished.output, r"(out|err) \d+") == expected
    if not bench.adds_output_lines:  # the output is the script's, kept whole
        head = ("outputs at start: []\nvariable: " + json.dumps(NASTY) + "\n").encode()
        assert finished.output == head + "".join(f"{line}\n" for line in expected).encode()


def test_logs_resume_exactly_at_any_byte_offset(finished):
    for offset, rest in finished.from_offsets.items():
        assert rest == finished.output[offset:], offset


def test_metrics_logged_with_deckrun_arrive_in_order(finished):
    records = [json.loads(line) for line in finished.metrics.splitlines()]
    assert [(r["name"], r["value"]) for r in records] == [("step", i) for i in range(LINES)]


def test_wait_returns_the_exit_code_of_a_failing_script(finished):
    assert finished.exit_code == EXIT_CODE


def test_the_runconfig_variables_reach_the_script_unchanged(finished):
    assert f"variable: {json.dumps(NASTY)}" in finished.output.decode()


def test_outputs_exists_and_is_empty_before_the_script_starts(finished):
    assert "outputs at start: []" in finished.output.decode()  # as on Workbench


def test_outputs_are_collected_with_nested_files_and_skipped_entries_named(finished):
    assert (finished.outputs / "sub/deeper/nested.txt").read_text() == "nested\n"
    assert not (finished.outputs / "passwd").exists()  # a link out is never followed
    assert finished.skipped is not None
    assert [entry.split(":")[0] for entry in finished.skipped] == ["passwd"]


def test_release_frees_what_the_run_held(finished):
    assert finished.released


@pytest.mark.parametrize("bench", PYTHON_TARGETS, indirect=True)
async def test_interpreter_options_go_before_the_script(bench):
    async with bench.running("show_options.py", "a", interpreter_options=(
            "-O", "-W", "ignore::DeprecationWarning")) as (_, execution, _events):
        output = await asyncio.wait_for(_read(execution.logs(0)), HANG)
        assert await asyncio.wait_for(execution.wait(), HANG) == 0
    assert output == b"1 ['ignore::DeprecationWarning'] ['a']\n"


async def test_cancel_stops_a_script_with_sigterm_within_the_grace_period(bench):
    async with bench.running("polite.py") as (_, execution, _events):
        await asyncio.wait_for(_read_until(execution, b"started\n"), HANG)
        # The grace period outlasts the bound: only the polite signal can end it in time.
        await asyncio.wait_for(execution.cancel(grace_seconds=3 * HANG), HANG)
        assert await asyncio.wait_for(execution.wait(), HANG) == bench.terminated_code


async def test_cancel_kills_a_script_that_ignores_sigterm_after_the_grace_period(bench):
    async with bench.running("stubborn.py") as (_, execution, _events):
        seen = await asyncio.wait_for(_read_until(execution, re.compile(rb"started (\d+)\n")),
                                      HANG)
        await asyncio.wait_for(execution.cancel(grace_seconds=1), HANG)
        code = await asyncio.wait_for(execution.wait(), HANG)
        if bench.killed_code is not None:
            assert code == bench.killed_code
        if bench.pids_visible:
            script = int(re.search(rb"started (\d+)\n", seen).group(1))
            until(lambda: not _alive(script), timeout=HANG, what=f"script {script} to end")


async def test_a_new_target_object_attaches_by_external_id_and_resumes_the_log(bench):
    count = 40
    spec = bench.spec("counter.py", str(count))
    async with bench.target() as first:
        execution = await launch(first, spec, RecordedEvents())
        seen = await asyncio.wait_for(_read_until(execution, b"line 10\n"), HANG)
        external_id = execution.external_id
    # The keeper that launched it is gone with its target and connections: a new one attaches.
    async with bench.target() as fresh:
        again = await attach(fresh, spec, external_id, RecordedEvents())
        try:
            rest = await asyncio.wait_for(_read(again.logs(len(seen))), HANG)
            assert await asyncio.wait_for(again.wait(), HANG) == 0
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(again.release(), HANG)
    assert _script_lines(seen + rest, r"line \d+") == [f"line {i}" for i in range(count)]


async def test_launching_a_started_run_again_finds_it_instead_of_running_it_twice(bench):
    """A keeper killed after the start, before history had the run's id, launches again."""
    count = 20
    async with bench.running("counter.py", str(count)) as (spec, first, _events):
        async with bench.target() as revived:
            again = await launch(revived, spec, RecordedEvents())
            assert again.external_id == first.external_id
            output = await asyncio.wait_for(_read(again.logs(0)), HANG)
            assert await asyncio.wait_for(again.wait(), HANG) == 0
    assert _script_lines(output, r"line \d+") == [f"line {i}" for i in range(count)]
