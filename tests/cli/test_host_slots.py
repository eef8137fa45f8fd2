"""A remote target's ``maxConcurrentRuns`` holds on its host for every machine that submits there.

Two projects (two ``.deck/`` folders with their own HOME, as two laptops of a team) submit to
the same host, the real sshd on 127.0.0.1:2222 (deckuser; in front of the real Docker Engine
for ``remotedocker``, the head node of the real Spark cluster for ``cluster``), with the same
target at ``maxConcurrentRuns: 1``. What runs at once is
seen from the host side: each script records, in a folder of the host (in a container: the
``nativeSharedDirectory`` of both projects, which have the same name), how many scripts were
running when it started, and waits for a file the test writes before it ends.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import uuid
from pathlib import Path

import pytest

from tests.fixtures.projects import Deck, run_id_of
from tests.fixtures.waiting import until

pytestmark = pytest.mark.ssh

#: Runs until ``go-<run id>`` exists in the shared folder (argv[1], on the host).
HOLD = """\
import os, sys, time
shared = os.environ.get("AZUREML_NATIVE_SHARE_DIRECTORY") or sys.argv[1]
me = os.environ["DECK_RUN_ID"]
os.makedirs(os.path.join(shared, "running"), exist_ok=True)
open(os.path.join(shared, "running", me), "w").close()
with open(os.path.join(shared, "started.log"), "a") as log:
    log.write("%s %d\\n" % (me, len(os.listdir(os.path.join(shared, "running")))))
while not os.path.exists(os.path.join(shared, "go-" + me)):
    time.sleep(0.02)
os.remove(os.path.join(shared, "running", me))
print("done", me)
"""


class Laptop:
    """One machine's project, with its own HOME (known_hosts), submitting to the shared host."""

    def __init__(self, root: Path, server, target: str, *, kind: str, shared: Path,
                 base_image: str | None = None, cluster=None) -> None:
        import shutil

        from tests.fixtures.projects import REPO

        self.project = root / "proj"
        shutil.copytree(REPO / "sample_project", self.project)
        home = root / "home"
        (home / ".ssh").mkdir(parents=True, mode=0o700)
        (home / ".ssh" / "known_hosts").write_text(server.known_hosts_line())
        self.deck = Deck(self.project)
        self.deck.env["HOME"] = str(home)
        self.deck.env.pop("SSH_AUTH_SOCK", None)
        image = ["--base-image", base_image] if base_image else []
        if cluster is not None:
            image = ["--master", cluster.master, "--spark-submit", str(cluster.spark_submit)]
            # Nothing for the executors to build: the script is plain Python.
            (self.project / "aml_config" / "conda_dependencies.yml").write_text(
                "name: env\ndependencies:\n  - python=3.11\n")
        self.deck("target", "attach", kind, "--name", target, "--address", server.host,
                  "--port", str(server.port), "--username", server.user, "--identity-file",
                  str(server.client_key), *image, check=True)
        compute = self.project / "aml_config" / f"{target}.compute"
        extra = "maxConcurrentRuns: 1\n"
        if kind == "remotedocker":  # the base image as it is; /azureml-share/ is <shared>
            extra += f"userManagedEnvironment: true\nnativeSharedDirectory: {shared.parent}\n"
        compute.write_text(compute.read_text() + extra)
        (self.project / "hold.py").write_text(HOLD)
        self.target = target

    def submit(self, shared: Path) -> str:
        return run_id_of(self.deck("submit", "-c", self.target, "--detach", "hold.py",
                                   str(shared), check=True).out)

    def show(self, run_id: str) -> dict:
        return self.deck.json("runs", "show", run_id)

    def stop(self) -> None:
        from tests.fixtures.projects import _stop_runs

        _stop_runs(self.project)


@pytest.fixture(params=["remote", pytest.param("remotedocker", marks=pytest.mark.docker),
                        pytest.param("cluster", marks=pytest.mark.spark)])
def kind(request) -> str:
    return request.param


@pytest.fixture
def host(ssh_server, remote_scratch, kind):
    """The shared folder the scripts write to on the host, and the target's name there."""
    shared = ssh_server.home / remote_scratch / "proj"  # the projects' name, for containers
    target = f"shared-{uuid.uuid4().hex[:8]}"  # other tests' runs on this sshd hold no slot of it
    yield shared, target
    import shutil

    for marker in (shared / "running").glob("*") if (shared / "running").is_dir() else ():
        (shared / f"go-{marker.name}").touch()  # lets a script a failed test left end
    shutil.rmtree(slot_folder(ssh_server, kind, target), ignore_errors=True)


@pytest.fixture
def laptops(request, tmp_path, ssh_server, host, kind):
    shared, target = host
    image = request.getfixturevalue("docker_engine") if kind == "remotedocker" else None
    cluster = request.getfixturevalue("spark_cluster") if kind == "cluster" else None
    pair = [Laptop(tmp_path / name, ssh_server, target, kind=kind, shared=shared,
                   base_image=image, cluster=cluster) for name in ("laptop1", "laptop2")]
    yield pair
    for laptop in pair:
        laptop.stop()


def running(shared: Path) -> set[str]:
    folder = shared / "running"
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def started(shared: Path) -> list[tuple[str, int]]:
    log = shared / "started.log"
    lines = log.read_text().split("\n") if log.exists() else []
    return [(line.split()[0], int(line.split()[1])) for line in lines if line]


def let_go(shared: Path, run_id: str) -> None:
    (shared / f"go-{run_id}").touch()


def test_two_laptops_share_one_hosts_slot_and_the_second_says_why_it_waits(laptops, host):
    shared, target = host
    first, second = laptops
    a = first.submit(shared)
    until(lambda: a in running(shared), timeout=120, what="the first laptop's run on the host")
    b = second.submit(shared)
    why = f"1st in line for {target}; 1/1 slots of {target} busy, 1 from another project"
    until(lambda: second.show(b).get("waits") == why, timeout=120,
          what=f"the second run to say why it waits ({second.show(b)})")
    assert second.show(b)["status"] == "Queued" and b not in running(shared)
    shown = second.deck("runs", "show", b, check=True).out
    assert f"waits:                {why}\n" in shown
    listed = second.deck("runs", "list", check=True).out
    assert "Queued #1 1/1 busy" in listed
    log = second.deck("logs", b, check=True).out
    assert f"waiting for a slot on the host: 1/1 slots of {target} busy" in log

    let_go(shared, a)
    assert first.deck.wait_for(a, timeout=120)["status"] == "Completed"
    until(lambda: b in running(shared), timeout=120, what="the second run to start")
    let_go(shared, b)
    assert second.deck.wait_for(b, timeout=120)["status"] == "Completed"
    assert started(shared) == [(a, 1), (b, 1)]  # never two at once on the host


@pytest.mark.parametrize("kind", ["remote"], indirect=True)
def test_runs_of_one_machine_take_the_hosts_slot_in_submit_order(laptops, host):
    shared, _target = host
    first, second = laptops
    other = second.submit(shared)  # the other laptop holds the slot
    until(lambda: other in running(shared), timeout=120, what="the other laptop's run")
    mine = [first.submit(shared) for _ in range(3)]
    until(lambda: first.show(mine[0]).get("waits", "").endswith("1 from another project"),
          timeout=120, what="the first of this laptop's runs to wait for the host")
    assert first.show(mine[2])["waits"].startswith("3rd in line for ")
    let_go(shared, other)
    for run_id in mine:
        until(lambda: run_id in running(shared), timeout=120, what=f"run {run_id} to start")
        let_go(shared, run_id)
        assert first.deck.wait_for(run_id, timeout=120)["status"] == "Completed"
    assert started(shared) == [(other, 1)] + [(run_id, 1) for run_id in mine]


def slot_folder(server, kind: str, target: str) -> Path:
    """Where the host keeps the slots of the target ``target`` of type ``kind``."""
    return server.home / ".launchdeck/slots" / socket.gethostname() / f"{kind}-{target}"


def _holder_of(server, kind: str, target: str, run_id: str) -> int:
    """The pid of the host-side process holding ``run_id``'s slot (from the slot's record)."""
    for owner in slot_folder(server, kind, target).glob("*.owner"):
        record = json.loads(owner.read_text())
        if record.get("run") == run_id:
            return int(record["pid"])
    return 0


@pytest.mark.parametrize("kind", ["remote", pytest.param("remotedocker",
                                                         marks=pytest.mark.docker)],
                         indirect=True)
def test_a_slot_holder_killed_on_the_host_frees_its_slot(laptops, host, ssh_server, kind):
    shared, target = host
    first, second = laptops
    a = first.submit(shared)
    until(lambda: a in running(shared), timeout=120, what="the first run on the host")
    b = second.submit(shared)
    until(lambda: "busy" in second.show(b).get("waits", ""), timeout=120,
          what="the second run to wait for the host")
    holder = until(lambda: _holder_of(ssh_server, kind, target, a), timeout=60,
                   what="the first run's slot record")
    os.kill(holder, signal.SIGKILL)  # no deck process is involved: the kernel frees the lock
    until(lambda: b in running(shared), timeout=120, what="the second run to take the slot")
    assert first.show(a)["status"] == "Running"  # the run itself went on
    for run_id in (a, b):
        let_go(shared, run_id)
    assert first.deck.wait_for(a, timeout=120)["status"] == "Completed"
    assert second.deck.wait_for(b, timeout=120)["status"] == "Completed"


def _keeper_pid(laptop: Laptop, run_id: str) -> int:
    from launchdeck.core.history.store import HistoryStore

    history = HistoryStore(laptop.project / ".deck" / "history.db")
    try:
        return history.get_run(run_id).keeper_pid or 0
    finally:
        history.close()


@pytest.mark.parametrize("kind", ["remote"], indirect=True)
def test_a_run_canceled_or_orphaned_while_it_waits_for_the_host_leaves_no_slot(laptops, host):
    shared, _target = host
    first, second = laptops
    a = first.submit(shared)
    until(lambda: a in running(shared), timeout=120, what="the first run on the host")
    b, c = second.submit(shared), second.submit(shared)
    until(lambda: "busy" in second.show(b).get("waits", ""), timeout=120,
          what="the second laptop's first run to wait for the host")
    second.deck("cancel", b, check=True)
    assert second.deck.wait_for(b, timeout=120)["status"] == "Canceled"
    until(lambda: "busy" in second.show(c).get("waits", ""), timeout=120,
          what="the run behind it to wait for the host in its place")
    keeper = _keeper_pid(second, c)
    os.kill(keeper, signal.SIGKILL)  # its SSH session ends: what it waited with goes too
    let_go(shared, a)
    assert first.deck.wait_for(a, timeout=120)["status"] == "Completed"
    # Any deck command revives the orphan's keeper, which waits for the host again.
    until(lambda: c in running(shared) or second.show(c)["status"] != "Queued", timeout=120,
          what="the orphaned run to start with a new keeper")
    let_go(shared, c)
    assert second.deck.wait_for(c, timeout=120)["status"] == "Completed"
    assert started(shared) == [(a, 1), (c, 1)]


@pytest.mark.parametrize("kind", ["remote"], indirect=True)
def test_a_run_waiting_for_the_host_waits_out_a_lost_link(laptops, host, ssh_server):
    from tests.core.targets.docker.test_remote import Relay, known_line

    shared, target = host
    first, second = laptops
    relay = Relay(ssh_server.port)  # the second laptop reaches the host through it
    relay.start()
    try:
        home = Path(second.deck.env["HOME"])
        (home / ".ssh" / "known_hosts").write_text(known_line(ssh_server, relay.port))
        compute = second.project / "aml_config" / f"{target}.compute"
        compute.write_text(compute.read_text().replace(f"port: {ssh_server.port}\n",
                                                       f"port: {relay.port}\n"))
        a = first.submit(shared)
        until(lambda: a in running(shared), timeout=120, what="the first run on the host")
        b = second.submit(shared)
        until(lambda: "busy" in second.show(b).get("waits", ""), timeout=120,
              what="the second run to wait for the host")
        relay.cut()
        until(lambda: "link to the host dropped" in second.deck("logs", b).out, timeout=120,
              what="the waiting run's keeper to notice the lost link")
        assert second.show(b)["status"] == "Queued"
        relay.start()
        let_go(shared, a)
        until(lambda: b in running(shared), timeout=180, what="the second run to start")
        let_go(shared, b)
        assert second.deck.wait_for(b, timeout=120)["status"] == "Completed"
        assert started(shared) == [(a, 1), (b, 1)]
    finally:
        relay.cut()
