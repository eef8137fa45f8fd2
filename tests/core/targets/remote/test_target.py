"""The remote target (a host's own Python over SSH) against the real sshd on 127.0.0.1:2222.

The "host" is this machine seen as deckuser through sshd, so the test can look at the host's
processes and files directly (``ssh_server.home``) to check what the target did there.
"""

from __future__ import annotations

import contextlib
import os
import textwrap
import uuid
from pathlib import Path

import pytest

from launchdeck.core.targets.base import NO_EVENTS, EnvironmentSpec, Framework, RunSpec
from tests.fixtures.events import RecordedEvents
from tests.fixtures.waiting import until_async

pytestmark = pytest.mark.ssh


class RemoteProject:
    """A project folder with a ``box`` remote target, its store and an SSH pool."""

    def __init__(self, root: Path, ssh_server, known_hosts: Path) -> None:
        from launchdeck.core.remote.connection import SSHPool
        from launchdeck.core.snapshot.store import ContentStore

        self.root = root
        self.server = ssh_server
        (root / "aml_config").mkdir(parents=True)
        self.compute_file = root / "aml_config" / "box.compute"
        self.write_compute()
        ssh_server.write_known_hosts(known_hosts)
        self.pool = SSHPool(config_paths=[], known_hosts=known_hosts)
        self.store = ContentStore(root.parent / "store")
        self.run_ids: list[str] = []

    def clean_up(self) -> None:
        """Stop and remove whatever a failed test left of its runs on the host."""
        import shutil
        import signal

        for run_id in self.run_ids:
            folder = self.server.home / ".launchdeck/remote/runs" / run_id
            try:
                pid, _, waiter, _ = (folder / "pids").read_text().split()
            except (OSError, ValueError):
                pid = waiter = "0"
            for process in (int(waiter), int(pid)):
                if process and running(process):
                    with contextlib.suppress(OSError):
                        os.killpg(process, signal.SIGKILL)
            shutil.rmtree(folder, ignore_errors=True)

    def write_compute(self, extra: str = "") -> None:
        s = self.server
        self.compute_file.write_text(textwrap.dedent(f"""\
            type: remote
            address: {s.host}
            port: {s.port}
            username: {s.user}
            identityFile: {s.client_key}
            """) + extra)

    def write(self, name: str, text: str) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def env(self) -> EnvironmentSpec:
        from launchdeck.core.config.compute import load_compute

        return EnvironmentSpec(project_dir=self.root, compute=load_compute(self.compute_file),
                               conda=None, spark=None, framework=Framework.PYTHON,
                               runconfig="box")

    def target(self, env: EnvironmentSpec | None = None):
        from launchdeck.core.targets.remote.target import RemoteTarget

        env = env or self.env()
        return RemoteTarget(env.compute, project_dir=self.root, pool=self.pool)

    def run_spec(self, env: EnvironmentSpec, script: str, *args: str,
                 environment: dict | None = None) -> RunSpec:
        run_id = f"remote-test-{uuid.uuid4().hex[:8]}"
        self.run_ids.append(run_id)
        snap = self.store.snapshot(self.root)
        return RunSpec(run_id=run_id, run_dir=self.root.parent / "runs" / run_id,
                       store=self.store, snapshot=snap.fingerprint, script=script,
                       arguments=args, environment=environment or {}, env=env)

    def host_path(self, spec: RunSpec, *parts: str) -> Path:
        """A file of the run's folder on the host (the same machine)."""
        return self.server.home / ".launchdeck/remote/runs" / spec.run_id / Path(*parts)


@pytest.fixture
async def remote_project(tmp_path, ssh_server, known_hosts_file):
    project = RemoteProject(tmp_path / "project", ssh_server, known_hosts_file)
    yield project
    await project.pool.close()
    project.clean_up()


async def collect(stream) -> bytes:
    return b"".join([chunk async for chunk in stream])


def running(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process on this machine (the host)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


TRAIN = """\
import os, pickle, sys, deckrun
print("outputs there:", os.path.isdir("outputs"), flush=True)
pickle.dump({"w": 1}, open("./outputs/model.pkl", "wb"))
share = os.environ.get("AZUREML_NATIVE_SHARE_DIRECTORY")
print("share:", share, os.path.isdir(share or "/nonexistent"), flush=True)
open(os.path.join(share, "seen.txt"), "w").write("shared")
for epoch in range(3):
    deckrun.log("loss", 1.0 / (epoch + 1))
print("python", sys.version_info[0], "args", sys.argv[1:])
print("token", os.environ["TOKEN"])
"""


async def test_a_run_completes_with_output_metrics_outputs_and_the_shared_folder(
        remote_project, ssh_server, tmp_path):
    share = f"deck-share-{uuid.uuid4().hex[:8]}"
    remote_project.write_compute(f"nativeSharedDirectory: ~/{share}\n")
    remote_project.write("train.py", TRAIN)
    env = remote_project.env()
    target = remote_project.target(env)
    spec = remote_project.run_spec(env, "train.py", "--epochs", "3",
                                   environment={"TOKEN": "t0k"})
    assert await target.prepare(env, progress=lambda _: None) == ""
    execution = await target.launch(spec, NO_EVENTS)
    try:
        assert execution.external_id.startswith("python3 pid ")
        log = (await collect(execution.logs(0))).decode()
        assert await execution.wait() == 0
        folder = ssh_server.home / share / "project"
        assert "outputs there: True\n" in log
        assert f"share: {folder}/ True\n" in log
        assert "python 3 args ['--epochs', '3']\n" in log and "token t0k\n" in log
        assert (folder / "seen.txt").read_text() == "shared"
        metrics = (await collect(execution.metrics(0))).decode()
        assert metrics.count('"name": "loss"') == 3
        await execution.collect_outputs(tmp_path / "outputs")
        assert (tmp_path / "outputs" / "model.pkl").is_file()
        # The run's environment went on stdin: the launch spec is in no file of the run.
        assert "t0k" not in "".join(p.read_text(errors="replace") for p in
                                    remote_project.host_path(spec).rglob("*") if p.is_file()
                                    and p.name != "output.log")
    finally:
        await execution.release()
        os.system(f"rm -rf {ssh_server.home / share}")
    assert not remote_project.host_path(spec).exists()


async def test_the_runconfig_s_pythonpath_follows_deck_s_on_the_host(remote_project,
                                                                     ssh_server):
    """Built by the one run-environment builder: a user's PYTHONPATH is kept after deck's
    runtime and the code (it was dropped on the remote and cluster targets)."""
    remote_project.write("path.py", "import os, deckrun\nprint(os.environ['PYTHONPATH'])\n")
    env = remote_project.env()
    target = remote_project.target(env)
    spec = remote_project.run_spec(env, "path.py", environment={"PYTHONPATH": "/opt/shared/lib"})
    execution = await target.launch(spec, NO_EVENTS)
    try:
        log = (await collect(execution.logs(0))).decode()
        assert await execution.wait() == 0, log
        root = ssh_server.home / ".launchdeck/remote/runs" / spec.run_id
        assert log.splitlines() == [f"{root}/runtime:{root}/work:/opt/shared/lib"]
    finally:
        await execution.release()


async def test_check_reports_the_hosts_python(remote_project):
    facts = await remote_project.target().check()
    assert facts["python_version"].startswith("3.")
    assert facts["host_key"] == remote_project.server.fingerprint
    remote_project.write_compute("pythonLocation: /no/such/python\n")
    from launchdeck.core.errors import TargetError

    with pytest.raises(TargetError, match="/no/such/python does not run on the host"):
        await remote_project.target().check()


DOUBLE_FORK = """\
import os, signal, sys, time
print("main", os.getpid(), flush=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        # The grandchild: in a session of its own, deaf to SIGTERM, orphaned at once.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        open("grandchild.pid.tmp", "w").write(str(os.getpid()))
        os.rename("grandchild.pid.tmp", "grandchild.pid")
        while True:
            time.sleep(1)
    os._exit(0)
os.wait()
time.sleep(600)
"""


async def test_cancel_stops_a_double_forked_grandchild(remote_project):
    remote_project.write("tree.py", DOUBLE_FORK)
    env = remote_project.env()
    spec = remote_project.run_spec(env, "tree.py")
    execution = await remote_project.target(env).launch(spec, NO_EVENTS)
    pid_file = remote_project.host_path(spec, "work", "grandchild.pid")
    await until_async(pid_file.exists, what="the grandchild")
    grandchild = int(pid_file.read_text())
    main = int(execution.external_id.rsplit(" ", 1)[1])
    assert running(grandchild) and running(main)
    await execution.cancel(grace_seconds=1)
    assert await execution.wait() == 128 + 15
    await until_async(lambda: not running(grandchild), what="the grandchild to stop")
    assert not running(main)
    await execution.release()


COUNTER = """\
import sys, time, deckrun
for i in range(int(sys.argv[1])):
    print("line %04d" % i, flush=True)
    deckrun.log("i", i)
    time.sleep(0.01)
sys.exit(5)
"""


async def test_a_cut_link_loses_and_repeats_no_line(remote_project, ssh_server):
    remote_project.write("counter.py", COUNTER)
    env = remote_project.env()
    target = remote_project.target(env)
    events = RecordedEvents()
    execution = await target.launch(remote_project.run_spec(env, "counter.py", "300"), events)
    states = events.link_states
    got = b""
    cut = False
    async for chunk in execution.logs(0):
        got += chunk
        if not cut and b"line 0050" in got:
            cut = True
            conn = await remote_project.pool.connection(target.host.endpoint)
            os.killpg(ssh_server.session_of(conn.get_extra_info("sockname")[1]), 9)
    assert cut
    assert await execution.wait() == 5
    lines = got.decode().splitlines()
    assert lines == [f"line {i:04d}" for i in range(300)]
    assert states and states[0] is not None and states[-1] is None
    assert (await collect(execution.metrics(0))).count(b'"name": "i"') == 300
    await execution.release()


async def test_a_link_down_longer_than_link_loss_timeout_gives_the_run_up(
        remote_project, ssh_server, known_hosts_file):
    """The one link-loss policy, as on remote Docker: ``linkLossTimeout: 2`` ends the watch of
    a run whose host stays away for 2 s, with a reason naming the key (it was 600 s here,
    whatever the file said; without the key a run now waits for ever, as on remote Docker)."""
    from tests.core.targets.docker.test_remote import Relay, given_up_after_cut, known_line

    relay = Relay(ssh_server.port)
    relay.start()
    with known_hosts_file.open("a") as f:
        f.write(known_line(ssh_server, relay.port))
    remote_project.compute_file.write_text(
        remote_project.compute_file.read_text().replace(f"port: {ssh_server.port}\n",
                                                        f"port: {relay.port}\n")
        + "linkLossTimeout: 2\n")
    remote_project.write("slow.py", "import time\nprint('started', flush=True)\n"
                         "time.sleep(600)\n")
    env = remote_project.env()
    target = remote_project.target(env)
    spec = remote_project.run_spec(env, "slow.py")
    events = RecordedEvents()
    execution = await target.launch(spec, events)
    try:
        lost = await given_up_after_cut(execution, relay, seconds=2)
        assert "box.compute" in str(lost)
        assert events.link_states and events.link_states[0] is not None
    finally:
        relay.start()
        again = remote_project.target(remote_project.env())
        await (await again.attach(spec, execution.external_id, NO_EVENTS)).cancel(
            grace_seconds=0)
        relay.cut()


async def test_pyspark_is_refused_with_a_pointer_to_the_cluster_target(remote_project):
    from dataclasses import replace

    from launchdeck.core.errors import TargetError

    remote_project.write("job.py", "print(1)\n")
    env = replace(remote_project.env(), framework=Framework.PYSPARK)
    with pytest.raises(TargetError, match="use a cluster target"):
        await remote_project.target(env).launch(remote_project.run_spec(env, "job.py"),
                                                NO_EVENTS)


async def test_a_wrong_python_location_fails_the_launch_clearly(remote_project):
    from launchdeck.core.errors import TargetError

    remote_project.write_compute("pythonLocation: /no/such/python\n")
    remote_project.write("job.py", "print(1)\n")
    env = remote_project.env()
    with pytest.raises(TargetError, match="cannot start /no/such/python"):
        await remote_project.target(env).launch(remote_project.run_spec(env, "job.py"),
                                                NO_EVENTS)


async def test_prepare_says_the_conda_file_is_not_installed_on_the_host(remote_project):
    from dataclasses import replace

    from launchdeck.core.config.conda import load_conda

    conda = remote_project.root / "aml_config" / "conda_dependencies.yml"
    conda.write_text("dependencies:\n  - python=3.5.2\n  - scikit-learn\n  - pip:\n"
                     "    - six\n")
    env = replace(remote_project.env(), conda=load_conda(conda))
    lines: list[str] = []
    assert await remote_project.target(env).prepare(env, progress=lines.append) == ""
    assert any("conda_dependencies.yml is not installed on a remote target" in line
               and "scikit-learn, six" in line for line in lines), lines


async def test_a_password_from_the_system_keyring_logs_in(remote_project, system_keyring,
                                                         monkeypatch, tmp_path):
    import keyring

    from launchdeck.core.remote import SSHPool

    keyring.set_password("launchdeck", "deckuser", remote_project.server.password)
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no default keys of this machine's user
    s = remote_project.server
    remote_project.compute_file.write_text(
        f"type: remote\naddress: {s.host}\nport: {s.port}\nusername: {s.user}\n"
        "password: keyring:launchdeck/deckuser\n")
    target = remote_project.target()
    try:
        assert (await target.check())["python_version"].startswith("3.")
    finally:
        SSHPool.forget_password(target.host.endpoint)
