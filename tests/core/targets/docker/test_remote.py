"""The remote Docker target against real components: sshd on 127.0.0.1 in front of the real engine.

The "remote host" is this machine reached as deckuser over SSH; every host key is verified for
real against a known_hosts file the test writes. Link cuts go through ``Relay``, a TCP relay
in its own process between the target and sshd: killing it resets every connection and keeps
the host unreachable until it is started again on the same port.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from launchdeck.core.errors import ExecutionLost, HostKeyError, TargetError
from launchdeck.core.remote import SSHPool
from tests.fixtures.waiting import until_async
from launchdeck.core.targets.base import NO_EVENTS
from tests.fixtures.events import RecordedEvents

pytestmark = [pytest.mark.ssh, pytest.mark.docker]

RELAY = textwrap.dedent('''
    import socket, sys, threading
    srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(64); print("ready", flush=True)
    def pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data: break
                b.sendall(data)
        except OSError: pass
        for s in (a, b):
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass
    while True:
        c, _ = srv.accept()
        u = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
        for x, y in ((c, u), (u, c)):
            threading.Thread(target=pipe, args=(x, y), daemon=True).start()
''')


class Relay:
    """127.0.0.1:port -> sshd; ``cut()`` drops every connection and refuses new ones."""

    def __init__(self, target_port: int) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.target_port = target_port
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", RELAY, str(self.port),
                                      str(self.target_port)], stdout=subprocess.PIPE)
        assert self.proc.stdout.readline().strip() == b"ready"

    def cut(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def relay(ssh_server):
    r = Relay(ssh_server.port)
    r.start()
    yield r
    r.cut()


def known_line(server, port: int) -> str:
    algorithm, data = server.host_pubkey.read_text().split()[:2]
    return f"[127.0.0.1]:{port} {algorithm} {data}\n"


class Remote:
    """A project with one remotedocker target ``gpu1`` and the pool it talks through."""

    def __init__(self, root: Path, base_image: str, server, known_hosts: Path) -> None:
        self.root, self.base_image, self.server, self.known_hosts = root, base_image, server, \
            known_hosts
        (root / "aml_config").mkdir(parents=True, exist_ok=True)
        self.pool = SSHPool(config_paths=[], known_hosts=known_hosts)
        self.targets = []

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def target(self, *, port: int | None = None, extra: str = "", **kwargs):
        from launchdeck.core.config.compute import load_compute
        from launchdeck.core.targets.docker.remote import RemoteDockerTarget

        self.write("aml_config/gpu1.compute",
                   f"type: remotedocker\naddress: 127.0.0.1\nport: {port or self.server.port}\n"
                   f"username: {self.server.user}\nidentityFile: {self.server.client_key}\n"
                   f"baseDockerImage: {self.base_image}\n{extra}")
        target = RemoteDockerTarget(load_compute(self.root / "aml_config/gpu1.compute"),
                                    project_dir=self.root, pool=self.pool, **kwargs)
        self.targets.append(target)
        return target

    def spec(self, target, script: str, *args: str, environment=None):
        from launchdeck.core.snapshot.store import ContentStore
        from launchdeck.core.targets.base import EnvironmentSpec, RunSpec

        env = EnvironmentSpec(project_dir=self.root, compute=target.compute, conda=None,
                              spark=None)
        store = ContentStore(self.root / ".deck" / "store")
        snap = store.snapshot(self.root)
        run_id = f"r-{secrets.token_hex(4)}"
        run_dir = self.root / ".deck" / "runs" / run_id
        run_dir.mkdir(parents=True)
        return RunSpec(run_id=run_id, run_dir=run_dir, store=store, snapshot=snap.fingerprint,
                       script=script, arguments=args, environment=environment or {}, env=env)

    async def close(self) -> None:
        for target in self.targets:
            await target.close()
        await self.pool.close()


@pytest.fixture
async def remote(tmp_path, docker_engine, ssh_server):
    kh = tmp_path / "known_hosts"
    kh.write_text(ssh_server.known_hosts_line())
    r = Remote(tmp_path / "proj", docker_engine, ssh_server, kh)
    yield r
    await r.close()


async def given_up_after_cut(execution, relay: Relay, *, seconds: int) -> ExecutionLost:
    """Cut the link once the run has started; the ExecutionLost its ``wait()`` ends with."""
    async for chunk in execution.logs(0):
        if b"started" in chunk:
            break
    relay.cut()
    with pytest.raises(ExecutionLost) as lost:
        await asyncio.wait_for(execution.wait(), 120)
    assert f"for more than {seconds} s (linkLossTimeout in " in str(lost.value)
    return lost.value


async def released(execution, relay: Relay) -> None:
    """Free a run's container after a test that may have failed with its link cut: the link
    is given back first (a release waits for the host for ever, as a run does)."""
    if relay.proc is None:
        relay.start()
    await asyncio.wait_for(execution.release(), 300)


async def tail_until(execution, line: bytes) -> tuple[bytearray, asyncio.Task]:
    """Follow the run's log into a buffer from a task; return once ``line`` has arrived."""
    received = bytearray()

    async def tail():
        async for chunk in execution.logs(0):
            received.extend(chunk)

    tailer = asyncio.create_task(tail(), name="the log tail")
    await until_async(lambda: line in received, timeout=300, what=repr(line), watch=tailer)
    return received, tailer


async def read_all(execution, offset: int = 0) -> bytes:
    data = b""
    async for chunk in execution.logs(offset):
        data += chunk
    return data


async def test_check_reports_host_key_engine_and_free_disk(remote):
    facts = await remote.target().check()
    assert facts["host_key"] == remote.server.fingerprint
    assert facts["ssh"] == f"deckuser@127.0.0.1:{remote.server.port}"
    assert facts["engine_version"] and facts["api_version"]
    assert facts["free_disk_home"].endswith("GiB") and facts["free_disk_docker"].endswith("GiB")
    assert facts["base_image_id"].startswith("sha256:")


async def test_unknown_host_key_is_refused_until_accepted(remote):
    remote.known_hosts.unlink()
    target = remote.target()
    with pytest.raises(HostKeyError) as err:
        await target.check()
    assert not err.value.changed and err.value.fingerprint == remote.server.fingerprint
    assert "deck target check gpu1" in str(err.value)
    assert not remote.known_hosts.exists()
    await target.accept_host_key(remote.server.fingerprint)
    assert (await target.check())["host_key"] == remote.server.fingerprint
    assert remote.known_hosts.read_text() == remote.server.known_hosts_line()


async def test_changed_host_key_is_refused(remote, tmp_path):
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    algorithm, data = other.with_suffix(".pub").read_text().split()[:2]
    remote.known_hosts.write_text(f"[127.0.0.1]:{remote.server.port} {algorithm} {data}\n")
    target = remote.target()
    with pytest.raises(HostKeyError, match="HAS CHANGED") as err:
        await target.check()
    assert err.value.changed
    with pytest.raises(HostKeyError):
        await target.accept_host_key(remote.server.fingerprint)
    assert remote.server.fingerprint not in remote.known_hosts.read_text()


async def test_a_host_without_a_docker_engine_is_a_clear_error_at_check(remote):
    target = remote.target(docker_socket="/run/no-docker-here.sock")
    with pytest.raises(TargetError) as err:
        await target.check()
    message = str(err.value)
    assert "no Docker Engine" in message and "/run/no-docker-here.sock" in message
    assert "Install Docker" in message


async def test_images_build_on_the_host_and_a_second_prepare_builds_nothing(remote):
    from launchdeck.core.targets.base import EnvironmentSpec

    target = remote.target()
    env = EnvironmentSpec(project_dir=remote.root, compute=target.compute, conda=None,
                          spark=None)
    lines: list[str] = []
    built = await target.ensure_image(env, progress=lines.append, rebuild=True)
    assert built.built and any("building" in line for line in lines)  # through the link
    again = await target.ensure_image(env, progress=lambda line: None)
    assert again.ref == built.ref and not again.built


async def test_a_launch_right_after_prepare_asks_nothing_again_about_the_images(remote):
    """A keeper prepares, then launches: each question to the engine is a round trip over
    the link, so what prepare found is not asked again."""
    remote.write("job.py", "print('hello')\n")
    target = remote.target()
    spec = remote.spec(target, "job.py")
    docker = await target.client()
    asked: list[str] = []
    inspect = docker.images.inspect

    async def counted(name: str):
        asked.append(name)
        return await inspect(name)

    docker.images.inspect = counted
    ref = await target.prepare(spec.env, progress=lambda line: None)
    execution = await target.launch(spec, NO_EVENTS)
    try:
        assert await read_all(execution) == b"hello\n"
    finally:
        await execution.release()
    # Each once, by prepare: the base for the tag, the environment found (the launch uses
    # the facts that inspect gave).
    assert sorted(asked) == sorted([remote.base_image, ref]), asked


async def test_a_launch_that_fails_before_its_container_leaves_nothing_on_the_host(remote):
    """The host's side of a launch starts early (the put script, waiting for a container):
    a launch refused before the container exists ends it."""
    remote.write("job.py", "print('hello')\n")
    remote.base_image = f"deck-test-missing:{secrets.token_hex(4)}"
    target = remote.target(extra="userManagedEnvironment: true\n")
    spec = remote.spec(target, "job.py")
    host = await target.remote_host()
    with pytest.raises(TargetError, match="is not on the Docker Engine"):
        await target.launch(spec, NO_EVENTS)

    async def no_put_script() -> bool:
        found = await host.run(["sh", "-c", "ps -eo args | grep -F 'exec(s.read(' | "
                                "grep -F \"$1\" | grep -v grep || true", "sh", spec.snapshot])
        return not found.stdout.strip()

    await until_async(no_put_script, timeout=60, what="the put script to end")


NASTY = {"QUOTES": "it's \"quoted\"", "SUBST": "$(touch /tmp/deck-pwned) `id`",
         "LINES": "two\nlines", "UNICODE": "ünïcødé €😀", "SPACES": "  spaces  ", "EMPTY": ""}


async def test_run_env_exit_code_metrics_and_outputs_on_the_host(remote):
    remote.write("job.py", """
        import json, os, sys
        import deckrun
        keys = sorted(k for k in os.environ if k in %r)
        print(json.dumps({k: os.environ[k] for k in keys}))
        print(json.dumps(sys.argv[1:]))
        deckrun.log("loss", 0.25)
        os.makedirs("outputs/sub", exist_ok=True)
        open("outputs/sub/model.bin", "wb").write(bytes(range(256)))
        sys.exit(3)
    """ % sorted(NASTY))
    target = remote.target()
    await target.ensure_image(remote.spec(target, "job.py").env, progress=lambda line: None)
    spec = remote.spec(target, "job.py", "a b", "$HOME", environment=NASTY)
    execution = await target.launch(spec, NO_EVENTS)
    try:
        out = (await read_all(execution)).decode().splitlines()
        import json

        assert json.loads(out[0]) == NASTY
        assert json.loads(out[1]) == ["a b", "$HOME"]
        assert await execution.wait() == 3
        metrics = b""
        async for chunk in execution.metrics(0):
            metrics += chunk
        assert json.loads(metrics.splitlines()[0])["value"] == 0.25
        await execution.collect_outputs(spec.run_dir / "outputs")
        assert (spec.run_dir / "outputs/sub/model.bin").read_bytes() == bytes(range(256))
    finally:
        await execution.release()


async def test_second_launch_sends_only_the_changed_file(remote):
    for i in range(1000):
        remote.write(f"pkg/m{i:04d}.py", f"VALUE = {i}  # {'x' * 200}\n")
    remote.write("job.py", "import pkg.m0007 as m\nprint(m.VALUE)\n")
    target = remote.target()
    await target.ensure_image(remote.spec(target, "job.py").env, progress=lambda line: None)
    first = await target.launch(remote.spec(target, "job.py"), NO_EVENTS)
    assert await read_all(first) == b"7\n"
    await first.release()
    # Unique content: the host's store outlives test sessions, and would already hold it.
    changed = remote.write("pkg/m0007.py", f"VALUE = 'changed'  # {secrets.token_hex(2500)}\n")
    second = await target.launch(remote.spec(target, "job.py"), NO_EVENTS)
    assert await read_all(second) == b"changed\n"
    await second.release()
    report = target.last_sync
    assert report.files_sent == 1 and report.blobs_skipped == 1001
    assert report.bytes_sent <= changed.stat().st_size + 64 * 1024


async def test_a_cut_link_loses_no_line_and_repeats_none(remote, relay):
    remote.known_hosts.write_text(known_line(remote.server, relay.port))
    remote.write("count.py", """
        import sys, time
        for i in range(int(sys.argv[1])):
            print("line %d" % i, flush=True)
            time.sleep(float(sys.argv[2]))
    """)
    target = remote.target(port=relay.port)
    events = RecordedEvents()
    states = events.link_states
    await target.ensure_image(remote.spec(target, "count.py").env, progress=lambda line: None)
    spec = remote.spec(target, "count.py", "120", "0.05")
    execution = await target.launch(spec, events)
    received, tailer = await tail_until(execution, b"line 20\n")
    every_line = b"".join(b"line %d\n" % i for i in range(120))
    try:
        relay.cut()
        await until_async(lambda: states and states[-1] is not None, timeout=300,
                          what="the lost link reported", watch=tailer)  # down since <utc>
        # What was on its way when the link went may still arrive (a busy machine reads it
        # late), but only whole lines, in order, once each.
        assert every_line.startswith(bytes(received))
        relay.start()
        await asyncio.wait_for(tailer, 300)
        assert await asyncio.wait_for(execution.wait(), 300) == 0
        assert states[-1] is None  # told: back
        assert bytes(received) == every_line
    finally:
        tailer.cancel()
        await released(execution, relay)


async def test_a_link_down_longer_than_link_loss_timeout_gives_the_run_up(remote, relay):
    """``linkLossTimeout: 2``: two seconds after the link went down the run's watch ends with
    a reason naming the key (the default, no key, waits for ever: the test above)."""
    remote.known_hosts.write_text(known_line(remote.server, relay.port))
    remote.write("slow.py", "import time\nprint('started', flush=True)\ntime.sleep(600)\n")
    target = remote.target(port=relay.port, extra="linkLossTimeout: 2\n")
    events = RecordedEvents()
    await target.ensure_image(remote.spec(target, "slow.py").env, progress=lambda line: None)
    spec = remote.spec(target, "slow.py")
    execution = await target.launch(spec, events)
    try:
        lost = await given_up_after_cut(execution, relay, seconds=2)
        assert "gpu1.compute" in str(lost)
        states = events.link_states
        assert states and states[0] is not None and states[-1] is not None  # never back
    finally:
        relay.start()
        again = remote.target(port=relay.port)
        await (await again.attach(spec, execution.external_id, NO_EVENTS)).release()


def password_target(remote, password_line: str):
    from launchdeck.core.config.compute import load_compute
    from launchdeck.core.targets.docker.remote import RemoteDockerTarget

    remote.write("aml_config/pw.compute",
                 f"type: remotedocker\naddress: 127.0.0.1\nport: {remote.server.port}\n"
                 f"username: {remote.server.user}\nbaseDockerImage: {remote.base_image}\n"
                 f"{password_line}")
    target = RemoteDockerTarget(load_compute(remote.root / "aml_config/pw.compute"),
                                project_dir=remote.root, pool=remote.pool)
    remote.targets.append(target)
    return target


async def test_password_from_the_system_keyring(remote, monkeypatch, tmp_path):
    import types

    asked = []

    def get_password(service, user):
        asked.append((service, user))
        return remote.server.password

    # A stand-in for the optional keyring package; sshd checks the password for real.
    monkeypatch.setitem(sys.modules, "keyring", types.SimpleNamespace(get_password=get_password))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no default keys of this machine's user
    target = password_target(remote, "password: keyring:launchdeck/deckuser\n")
    assert (await target.check())["host_key"] == remote.server.fingerprint
    assert asked == [("launchdeck", "deckuser")]
    from launchdeck.core.remote import SSHPool

    SSHPool.forget_password((await target.host()).endpoint)


async def test_a_workbench_secret_reference_says_how_to_switch_to_a_key(remote):
    from launchdeck.core.errors import SecretError

    target = password_target(remote, 'password: "AzureMlSecret=abc123"\n')
    with pytest.raises(SecretError) as err:
        await target.check()
    assert "identityFile" in str(err.value) and "pw.compute" in str(err.value)


async def test_workbench_native_share_under_the_remote_home(remote):
    name = f".deck-test-share/{secrets.token_hex(4)}"
    remote.write("share.py", "import os\nopen(os.environ['AZUREML_NATIVE_SHARE_DIRECTORY']"
                 " + 'x.txt', 'w').write('shared')\n")
    target = remote.target()
    remote.write("aml_config/gpu1.compute", (remote.root / "aml_config/gpu1.compute")
                 .read_text() + f'nativeSharedDirectory: "~/{name}/"\n')
    from launchdeck.core.config.compute import load_compute

    target.compute = load_compute(remote.root / "aml_config/gpu1.compute")
    await target.ensure_image(remote.spec(target, "share.py").env, progress=lambda line: None)
    execution = await target.launch(remote.spec(target, "share.py"), NO_EVENTS)
    try:
        assert await execution.wait() == 0
        shared = remote.server.home / name / remote.root.name / "x.txt"
        assert shared.read_text() == "shared"
    finally:
        await execution.release()
        subprocess.run(["rm", "-rf", str(remote.server.home / name)], check=False)


async def test_killing_the_sshd_session_mid_run_loses_no_line(remote):
    remote.write("count.py", "import time\nfor i in range(100):\n"
                 "    print('line %d' % i, flush=True)\n    time.sleep(0.04)\n")
    target = remote.target()
    await target.ensure_image(remote.spec(target, "count.py").env, progress=lambda line: None)
    execution = await target.launch(remote.spec(target, "count.py"), NO_EVENTS)
    received = bytearray()
    try:
        async for chunk in execution.logs(0):
            received.extend(chunk)
            if b"line 30\n" in received and not getattr(execution, "cut", False):
                conn = await target.connection()
                session = remote.server.session_of(conn.get_extra_info("sockname")[1])
                os.killpg(session, signal.SIGKILL)  # the [priv] monitor and its child
                execution.cut = True
        assert await execution.wait() == 0
        assert bytes(received) == b"".join(b"line %d\n" % i for i in range(100))
        host = await target.host()
        assert host.pool.entry(host.endpoint).opened == 2  # reopened once, shared again
    finally:
        await execution.release()


async def test_a_host_key_that_changed_while_away_fails_the_run_loudly(remote, relay, tmp_path):
    remote.known_hosts.write_text(known_line(remote.server, relay.port))
    remote.write("slow.py", "import time\nfor i in range(100):\n"
                 "    print(i, flush=True)\n    time.sleep(0.1)\n")
    target = remote.target(port=relay.port)
    await target.ensure_image(remote.spec(target, "slow.py").env, progress=lambda line: None)
    execution = await target.launch(remote.spec(target, "slow.py"), NO_EVENTS)
    try:
        with pytest.raises(HostKeyError) as err:
            async for chunk in execution.logs(0):
                if relay.proc is not None:
                    relay.cut()
                    other = tmp_path / "other"
                    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                                    str(other)], check=True)
                    algorithm, data = other.with_suffix(".pub").read_text().split()[:2]
                    remote.known_hosts.write_text(f"[127.0.0.1]:{relay.port} {algorithm} {data}\n")
                    relay.start()
        assert err.value.changed and "HAS CHANGED" in str(err.value)
    finally:
        remote.known_hosts.write_text(known_line(remote.server, relay.port))
        await released(execution, relay)


async def test_a_silent_link_is_noticed_by_keepalives_and_resumed(remote, relay):
    """SIGSTOP on the relay: no reset, no data, like a cable pulled or a laptop lid closed."""
    remote.known_hosts.write_text(known_line(remote.server, relay.port))
    await remote.pool.close()
    remote.pool = SSHPool(config_paths=[], known_hosts=remote.known_hosts,
                          keepalive_interval=0.5, keepalive_count_max=2, connect_timeout=2)
    remote.write("count.py", "import time\nfor i in range(150):\n"
                 "    print('line %d' % i, flush=True)\n    time.sleep(0.04)\n")
    target = remote.target(port=relay.port)
    events = RecordedEvents()
    states = events.link_states
    await target.ensure_image(remote.spec(target, "count.py").env, progress=lambda line: None)
    execution = await target.launch(remote.spec(target, "count.py"), events)
    received, tailer = await tail_until(execution, b"line 10\n")
    try:
        os.kill(relay.proc.pid, signal.SIGSTOP)
        await until_async(lambda: states, timeout=120, what="the silent link noticed",
                          watch=tailer)
        os.kill(relay.proc.pid, signal.SIGCONT)
        await asyncio.wait_for(tailer, 300)
        assert await asyncio.wait_for(execution.wait(), 300) == 0
        assert states[0] is not None and states[-1] is None
        assert bytes(received) == b"".join(b"line %d\n" % i for i in range(150))
    finally:
        if relay.proc is not None:
            os.kill(relay.proc.pid, signal.SIGCONT)
        tailer.cancel()
        await released(execution, relay)


async def test_a_workbench_script_finds_outputs_and_a_share_that_persists(remote):
    """./outputs/ exists before the script starts; ~/share on the host keeps files between
    runs, created by the SSH user (not by the engine as root)."""
    from tests.core.targets.docker.test_target import WORKBENCH_SCRIPT

    name = f".deck-test-share/{secrets.token_hex(4)}"
    remote.write("wb.py", WORKBENCH_SCRIPT)
    target = remote.target()
    remote.write("aml_config/gpu1.compute", (remote.root / "aml_config/gpu1.compute")
                 .read_text() + f'nativeSharedDirectory: "~/{name}"\n')
    from launchdeck.core.config.compute import load_compute

    target.compute = load_compute(remote.root / "aml_config/gpu1.compute")
    await target.ensure_image(remote.spec(target, "wb.py").env, progress=lambda line: None)
    folder = remote.server.home / name / remote.root.name
    try:
        seen = []
        for _ in range(2):
            spec = remote.spec(target, "wb.py")
            execution = await target.launch(spec, NO_EVENTS)
            try:
                output = await read_all(execution)
                assert await execution.wait() == 0, output
                await execution.collect_outputs(spec.run_dir / "outputs")
                assert (spec.run_dir / "outputs/model.pkl").exists()
            finally:
                await execution.release()
            seen.append((spec.run_id, output.decode()))
        (first, out1), (second, out2) = seen
        assert out1 == "seen:\n" and out2 == f"seen:{first},\n"
        assert (folder / "runs.txt").read_text() == f"{first}\n{second}\n"
        assert folder.stat().st_uid == (remote.server.home).stat().st_uid
    finally:
        subprocess.run(["rm", "-rf", str(remote.server.home / name.split("/")[0] /
                                         name.split("/")[1])], check=False)
