"""The targets screen on real targets: local, the Docker Engine, remote Docker and a Spark
cluster through the test sshd. Host keys are verified for real against a known_hosts file in a
temporary HOME."""

from __future__ import annotations

import re
import shutil
import subprocess
import socket
from pathlib import Path

import asyncssh
import pytest

from tests.tui.conftest import footer, make_app, notified, screen_text, shows, until
from launchdeck.tui.screens.attach import TYPES
from launchdeck.tui.screens.targets import TargetsScreen

NO_PIP = "name: env\ndependencies:\n  - python=3.11\n"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """HOME of this test: ~/.ssh/known_hosts and ~/.ssh/config are its own."""
    path = tmp_path / "home"
    (path / ".ssh").mkdir(parents=True, mode=0o700)
    monkeypatch.setenv("HOME", str(path))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return path


async def open_targets(app, pilot, count=2):
    await pilot.press("T")
    await until(pilot, lambda: isinstance(app.screen, TargetsScreen))
    screen = app.screen
    await until(pilot, lambda: len(screen.facts) == count, what="targets read")
    return screen


def select(screen, name):
    table = screen.query_one("#targets")
    table.move_cursor(row=table.get_row_index(name))


def row(screen, name) -> str:
    table = screen.query_one("#targets")
    return " ".join(str(cell) for cell in table.get_row(name))


async def attach(app, pilot, kind, *, write=True, **fields):
    """Fill the attach form by keyboard, field by field, and write it (unless told not)."""
    await pilot.press("a")
    await until(pilot, lambda: app.screen.__class__.__name__ == "AttachDialog")
    dialog = app.screen
    # The type by keyboard: back from the name to the type list, open it, go down to it.
    await pilot.press("shift+tab", "enter", *["down"] * TYPES.index(kind), "enter")
    await until(pilot, lambda: dialog.query_one("#type").value == kind, what=kind)
    for key, value in fields.items():
        dialog.query_one(f"#f-{key}").focus()
        await pilot.press(*value)
    if write:
        await pilot.press("ctrl+s")
    return dialog


async def test_lists_every_compute_and_checks_local_for_real(live_project):
    app = make_app(live_project, check_targets=False)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_targets(app, pilot)
        # The docker target's base image, from its file, in the side panel.
        text = await shows(pilot, app, "launchdeck-base:bookworm-py311")
        assert "docker" in text and "local" in text and "? not checked" in text
        select(screen, "local")
        await pilot.press("enter")  # c or enter
        await until(pilot, lambda: screen.facts["local"].reachable is True, what="checked")
        text = await shows(pilot, app, "✓ reachable")
        assert "python" in text and "cpus" in text


async def test_a_bad_compute_file_is_shown_not_fatal(live_project):
    (live_project.config_dir / "broken.compute").write_text("type: [nonsense\n")
    app = make_app(live_project)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_targets(app, pilot, count=3)
        assert screen.facts["broken"].error
        await shows(pilot, app, "✗ bad file")
        select(screen, "broken")
        await shows(pilot, app, "expected ',' or ']'")  # what is wrong, in the side panel
        await until(pilot, lambda: "Check" not in footer(app) and "Prepare" not in footer(app),
                    what="no keys for a bad file")


@pytest.mark.docker
async def test_docker_check_shows_engine_and_images_and_prepare_reports_progress(
        live_project, docker_engine):
    (live_project.config_dir / "conda_dependencies.yml").write_text(NO_PIP)
    app = make_app(live_project)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_targets(app, pilot)
        select(screen, "docker")
        await pilot.press("c")
        await until(pilot, lambda: screen.facts["docker"].reachable is not None, what="check")
        assert screen.facts["docker"].reachable, screen.facts["docker"].message
        assert re.search(r"engine \d+\.\d+", row(screen, "docker"))  # its version
        text = screen_text(app)
        assert "env of docker" in text and "deck-env:" in text
        await pilot.press("p")
        await shows(pilot, app, "run configuration docker:")
        await shows(pilot, app, "ready: docker: deck-env:", timeout=300)
        # After prepare the target is checked again: its environment is built now.
        await until(pilot, lambda: "1/1 built" in row(screen, "docker"), what="env built")
        assert screen.facts["docker"].environments["docker"].endswith("✓ built")


async def test_prepare_without_a_runconfig_says_what_to_do(live_project):
    live_project.runconfig_path("local").unlink()
    app = make_app(live_project)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_targets(app, pilot)
        select(screen, "local")
        await pilot.press("p")
        await shows(pilot, app, "no run configuration uses target local")


async def test_attach_validates_as_you_type_and_writes(live_project, tmp_path):
    key = tmp_path / "id_test"
    key.write_text("not really a key")
    app = make_app(live_project)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_targets(app, pilot)
        await pilot.press("a")
        await until(pilot, lambda: app.screen.__class__.__name__ == "AttachDialog")
        dialog = app.screen
        await pilot.press(*"local")
        await shows(pilot, app, "taken: aml_config/local.compute exists")
        await pilot.press(*"/x")
        await shows(pilot, app, "letters, digits, - and _ only")
        await pilot.press("backspace", "backspace", "5")
        dialog.query_one("#type").value = "remotedocker"
        await pilot.press("ctrl+s")
        await shows(pilot, app, "a remotedocker target needs this")
        assert app.screen is dialog  # address and base image missing: refused
        dialog.query_one("#f-address").value = "gpu1.example"
        dialog.query_one("#f-base_image").value = "python:3.11"
        dialog.query_one("#f-port").value = "99999"
        dialog.query_one("#f-identity_file").value = str(tmp_path / "missing")
        await shows(pilot, app, "from 1 to 65535")
        await shows(pilot, app, "no such file on this machine")
        await pilot.press("ctrl+s")
        assert app.screen is dialog and not live_project.compute_path("local5").exists()
        dialog.query_one("#f-port").value = "2222"
        dialog.query_one("#f-identity_file").value = str(key)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is screen)
        await until(pilot, lambda: notified(app, "attached local5"))
        await until(pilot, lambda: "local5" in screen.facts)
    compute = live_project.load_compute("local5")
    assert (str(compute.type), compute.address, compute.port, compute.identity_file) == (
        "remotedocker", "gpu1.example", 2222, str(key))
    assert live_project.load_runconfig("local5").target == "local5"


async def test_attach_writes_build_offline_and_the_ca_bundle_at_80x24(live_project, tmp_path):
    """The two build settings of an image target, typed and ticked in the form, land in its
    .compute file (and the box left unticked writes nothing)."""
    bundle = tmp_path / "proxy-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    app = make_app(live_project)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_targets(app, pilot)
        dialog = await attach(app, pilot, "remotedocker", name="gpu2", base_image="python:3.11",
                              address="gpu2.example", ca_bundle=str(bundle), write=False)
        offline = dialog.query_one("#f-offline")
        await shows(pilot, app, "[ ] wheels gathered here, no network")
        for _ in range(4):  # by keyboard: the box follows the bundle's field
            if dialog.focused is offline:
                break
            await pilot.press("tab")
        assert dialog.focused is offline
        await pilot.press("space")
        await shows(pilot, app, "[x] wheels gathered here, no network")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "gpu2" in screen.facts, what="attached")
        # The same form again, box left as it is: no buildOffline line at all.
        await attach(app, pilot, "docker", name="dock3", base_image="python:3.11")
        await until(pilot, lambda: "dock3" in screen.facts, what="attached")
    text = live_project.compute_path("gpu2").read_text()
    assert "buildOffline: true" in text
    assert f"buildCaBundle: {bundle}" in text
    assert "buildOffline" not in live_project.compute_path("dock3").read_text()


async def test_escape_leaves_the_attach_form_without_writing(live_project):
    before = sorted(p.name for p in live_project.config_dir.iterdir())
    app = make_app(live_project)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_targets(app, pilot)
        await pilot.press("a", *"gpu9", "escape")
        await until(pilot, lambda: app.screen is screen)
        await pilot.press("escape")  # and back to the runs screen
        await until(pilot, lambda: app.screen.__class__.__name__ == "RunsScreen")
    assert sorted(p.name for p in live_project.config_dir.iterdir()) == before


@pytest.mark.ssh
@pytest.mark.docker
async def test_unknown_host_key_shows_its_fingerprint_and_trust_writes_known_hosts(
        live_project, ssh_server, docker_engine, home):
    known_hosts = home / ".ssh" / "known_hosts"
    app = make_app(live_project)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_targets(app, pilot)
        await attach(app, pilot, "remotedocker", name="gpu1", base_image=docker_engine,
                     address=ssh_server.host, port=str(ssh_server.port),
                     username=ssh_server.user, identity_file=str(ssh_server.client_key))
        await until(pilot, lambda: "gpu1" in screen.facts, what="attached")
        select(screen, "gpu1")
        await pilot.press("c")
        await until(pilot, lambda: app.screen.__class__.__name__ == "Confirm", what="question")
        await shows(pilot, app, ssh_server.fingerprint)  # once the dialog is drawn
        assert not known_hosts.exists()  # nothing trusted before the user says so
        await pilot.press("y")
        await until(pilot, lambda: screen.facts["gpu1"].reachable or notified(app, "Host key"),
                    timeout=60, what="checked with the key")
        assert screen.facts["gpu1"].reachable, screen.facts["gpu1"].message
        assert known_hosts.read_text() == ssh_server.known_hosts_line()
        assert notified(app, f"trusted gpu1's host key {ssh_server.fingerprint}")
        assert "✓ reachable" in row(screen, "gpu1") and "engine" in row(screen, "gpu1")
        assert screen.facts["gpu1"].facts["host_key"] == ssh_server.fingerprint
        await shows(pilot, app, "host key")  # in the side panel
        # Checked again, the host is known: no question.
        screen.facts["gpu1"].reachable = None
        await pilot.press("c")
        await until(pilot, lambda: screen.facts["gpu1"].reachable is True, what="re-check")
        assert app.screen is screen


@pytest.mark.ssh
async def test_a_changed_host_key_is_refused_and_never_offered(live_project, ssh_server, home):
    known_hosts = home / ".ssh" / "known_hosts"
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().split()
    known_hosts.write_text(f"[{ssh_server.host}]:{ssh_server.port} {other[0]} {other[1]}\n")
    before = known_hosts.read_bytes()
    (live_project.config_dir / "gpu2.compute").write_text(
        f"type: remotedocker\nbaseDockerImage: img\naddress: {ssh_server.host}\n"
        f"port: {ssh_server.port}\nusername: {ssh_server.user}\n"
        f"identityFile: {ssh_server.client_key}\n")
    app = make_app(live_project)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_targets(app, pilot, count=3)
        select(screen, "gpu2")
        await pilot.press("c")
        await until(pilot, lambda: screen.facts["gpu2"].reachable is False, what="refused")
        assert "✗ host key changed" in row(screen, "gpu2")
        await until(pilot, lambda: notified(app, "known_hosts"))
        assert app.screen is screen  # no trust question for a changed key
    assert known_hosts.read_bytes() == before


@pytest.mark.spark
async def test_attach_a_cluster_with_master_and_spark_submit_and_check_it(
        live_project, ssh_server, spark_cluster, home):
    (home / ".ssh" / "known_hosts").write_text(ssh_server.known_hosts_line())
    app = make_app(live_project)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_targets(app, pilot)
        await attach(app, pilot, "cluster", name="spark1", address=ssh_server.host,
                     port=str(ssh_server.port), username=ssh_server.user,
                     identity_file=str(ssh_server.client_key), master="http://head:7077")
        await shows(pilot, app, "spark://HOST:PORT, yarn")  # a master that is none
        dialog = app.screen
        dialog.query_one("#f-master").value = spark_cluster.master
        dialog.query_one("#f-spark_submit").value = str(spark_cluster.spark_submit)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "spark1" in screen.facts, what="attached")
        compute = live_project.load_compute("spark1")
        assert (compute.spark_master, compute.spark_submit_location) == (
            spark_cluster.master, str(spark_cluster.spark_submit))
        assert str(live_project.load_runconfig("spark1").framework) == "PySpark"
        select(screen, "spark1")
        await pilot.press("c")
        await until(pilot, lambda: screen.facts["spark1"].reachable is not None, timeout=120,
                    what="cluster checked")
        assert screen.facts["spark1"].reachable, screen.facts["spark1"].message
        assert "spark " in row(screen, "spark1")  # its Spark version
        await shows(pilot, app, "master reachable")  # the side panel, repainted

        # Its executor environment (the sample's pip list), gone from the head node: then
        # not built, and p builds it there.
        state = screen.facts["spark1"].environments["spark1"]
        folder = ssh_server.home / state.split()[0]
        shutil.rmtree(folder, ignore_errors=True)
        Path(f"{folder}.tar.gz").unlink(missing_ok=True)
        await pilot.press("c")
        await until(pilot, lambda: "0/1 built" in row(screen, "spark1"), timeout=60,
                    what="not built")
        environments = screen.facts["spark1"].environments
        assert environments["spark1"].endswith(" ✗ not built (p prepares it)")
        await shows(pilot, app, "env of spark1")  # in the side panel
        await pilot.press("p")
        await until(pilot, lambda: "1/1 built" in row(screen, "spark1"), timeout=300,
                    what="built")
        assert screen.facts["spark1"].environments["spark1"].endswith(" ✓ built")
        assert any(env.startswith(f"{folder.name} (") for env in screen.facts["spark1"].images)


async def test_a_check_that_hangs_leaves_the_keys_working(live_project, home):
    """The host accepts TCP and then says nothing: the check waits, the screen does not."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    (live_project.config_dir / "mute.compute").write_text(
        f"type: remotedocker\nbaseDockerImage: img\naddress: 127.0.0.1\n"
        f"port: {listener.getsockname()[1]}\n")
    accepted = []

    def connected() -> bool:
        try:
            accepted.append(listener.accept()[0])
        except BlockingIOError:
            pass
        return bool(accepted)

    app = make_app(live_project)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_targets(app, pilot, count=3)
            select(screen, "mute")
            await pilot.press("c")
            await until(pilot, connected, what="the check's connection")
            assert "… checking" in row(screen, "mute")
            await until(pilot, lambda: "Check" not in footer(app)  # the keys that work
                        and "Prepare" in footer(app), what="keys while checking")
            await pilot.press("up")  # keys answer while the check waits on the host
            assert screen.selected == "local"
            await until(pilot, lambda: "Check" in footer(app), what="c for local")
            await pilot.press("question_mark")
            await until(pilot, lambda: app.screen.__class__.__name__ == "HelpScreen")
            await pilot.press("escape")
            assert "mute" in screen.checking  # it cannot have finished: the host said nothing
            for conn in accepted:
                conn.close()
            listener.close()
            await until(pilot, lambda: screen.facts["mute"].reachable is False, timeout=60,
                        what="the check to fail")
            assert "✗ unreachable" in row(screen, "mute")
    finally:
        listener.close()


@pytest.mark.ssh
async def test_checks_on_opening_never_pop_a_trust_question(live_project, ssh_server, home):
    (live_project.config_dir / "gpu3.compute").write_text(
        f"type: remotedocker\nbaseDockerImage: img\naddress: {ssh_server.host}\n"
        f"port: {ssh_server.port}\nusername: {ssh_server.user}\n"
        f"identityFile: {ssh_server.client_key}\n")
    app = make_app(live_project, check_targets=True)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_targets(app, pilot, count=3)
        await until(pilot, lambda: screen.facts["gpu3"].reachable is False, what="auto check")
        assert "? host key" in row(screen, "gpu3") and app.screen is screen
        select(screen, "gpu3")
        await pilot.press("c")  # asked for: now the fingerprint is shown
        await until(pilot, lambda: app.screen.__class__.__name__ == "Confirm")
        assert ssh_server.fingerprint in screen_text(app)
        await pilot.press("n")
    assert not (home / ".ssh" / "known_hosts").exists()


def image_ref(screen, name) -> str:
    """The environment image a target's run configuration ``name`` uses (from its check)."""
    return screen.facts[name].environments[name].split()[0]


@pytest.mark.docker
@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_attach_with_a_ca_bundle_then_prepare_shows_the_build_live(
        live_project, docker_engine, monkeypatch, size):
    """The test machines reach the package index through a TLS-inspecting proxy: the build
    works only with the CA bundle typed into the attach form. Its output shows as it comes,
    and the outcome stays on screen after the re-check."""
    from launchdeck.core.config.runconfig import set_field
    from tests.fixtures.docker_engine import CA_BUNDLE

    monkeypatch.delenv("DECK_BUILD_CA_BUNDLE", raising=False)
    (live_project.config_dir / "six15.yml").write_text(
        "name: six15\ndependencies:\n  - python=3.11\n  - pip:\n    - six==1.15.0\n")
    app = make_app(live_project)
    async with app.run_test(size=size) as pilot:
        screen = await open_targets(app, pilot)
        dialog = await attach(app, pilot, "docker", name="dock2", base_image=docker_engine,
                              ca_bundle="/no/such.pem")
        await shows(pilot, app, "no such file on this machine: /no/such.pem")
        assert app.screen is dialog
        dialog.query_one("#f-ca_bundle").value = CA_BUNDLE
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "dock2" in screen.facts, what="attached")
        assert f"buildCaBundle: {CA_BUNDLE}" in live_project.compute_path("dock2").read_text()
        set_field(live_project.runconfig_path("dock2"), "CondaDependenciesFile",
                  "aml_config/six15.yml")
        select(screen, "dock2")
        await pilot.press("c")
        await until(pilot, lambda: screen.facts["dock2"].reachable is not None, what="check")
        ref = image_ref(screen, "dock2")
        subprocess.run(["docker", "rmi", "-f", ref], capture_output=True)
        try:
            # P: without the engine's build cache, which an earlier run of this test filled:
            # pip really runs, through the proxy, with the bundle.
            await pilot.press("P")
            # Live: build steps on screen while the prepare still runs.
            # Any step: at 80x24 the panel shows a few lines, and the first may have scrolled
            # away before a busy machine paints.
            await until(pilot, lambda: screen.preparing
                        and re.search(r"Step \d+/\d+", screen_text(app)),
                        timeout=120, what="build output while preparing")
            await shows(pilot, app, "prepare dock2: running")
            await shows(pilot, app, "prepare dock2: ready in", timeout=600)
            await until(pilot, lambda: "1/1 built" in row(screen, "dock2"), what="re-checked")
            await shows(pilot, app, f"ready: dock2: {ref}")  # still in view
        finally:
            subprocess.run(["docker", "rmi", "-f", ref], capture_output=True)


@pytest.mark.docker
async def test_a_failed_prepare_stays_on_screen_at_80x24(live_project, docker_engine):
    compute = live_project.compute_path("docker")
    compute.write_text(compute.read_text().replace(docker_engine, "deck-no-such-base:1"))
    app = make_app(live_project)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_targets(app, pilot)
        select(screen, "docker")
        await pilot.press("p")
        await shows(pilot, app, "prepare docker: failed", timeout=120)
        await until(pilot, lambda: screen.facts["docker"].reachable is not None,
                    what="the check after the prepare")
        await pilot.pause(0.5)
        text = screen_text(app)
        assert "failed: " in text and "deck-no-such-base:1" in text  # not only in a toast


@pytest.mark.ssh
async def test_attach_a_remote_target_and_check_it(live_project, ssh_server, home):
    (home / ".ssh" / "known_hosts").write_text(ssh_server.known_hosts_line())
    app = make_app(live_project)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_targets(app, pilot)
        await pilot.press("a")
        await until(pilot, lambda: app.screen.__class__.__name__ == "AttachDialog")
        dialog = app.screen
        dialog.query_one("#type").value = "remote"
        await pilot.pause(0.2)
        shown = {w.id[4:] for w in dialog.query(".field") if w.id and w.display}
        assert shown == {"name", "address", "port", "username", "identity_file", "python",
                         "max_runs"}
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        await attach(app, pilot, "remote", name="box1", address=ssh_server.host,
                     port=str(ssh_server.port), username=ssh_server.user,
                     identity_file=str(ssh_server.client_key), python="/usr/bin/python3")
        await until(pilot, lambda: "box1" in screen.facts, what="attached")
        compute = live_project.load_compute("box1")
        assert (str(compute.type), compute.address, compute.port, compute.python_location) == (
            "remote", ssh_server.host, ssh_server.port, "/usr/bin/python3")
        select(screen, "box1")
        await pilot.press("c")
        await until(pilot, lambda: screen.facts["box1"].reachable is not None, timeout=120,
                    what="checked")
        assert screen.facts["box1"].reachable, screen.facts["box1"].message
        await shows(pilot, app, "✓ reachable")
