"""The targets screen: list, check (local, for real), attach with validation, prepare."""

from __future__ import annotations

from core.errors import HostKeyError
from tests.tui.conftest import make_app, notified, screen_text, shows, until
from tui.screens.targets import TargetsScreen


async def open_targets(app, pilot):
    await pilot.press("T")
    await until(pilot, lambda: isinstance(app.screen, TargetsScreen))
    screen = app.screen
    await until(pilot, lambda: len(screen.facts) == 2, what="targets read")
    return screen


async def test_lists_every_compute_and_checks_local_for_real(live_project):
    app = make_app(live_project, check_targets=False)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_targets(app, pilot)
        text = screen_text(app)
        assert "docker" in text and "local" in text and "? not checked" in text
        table = screen.query_one("#targets")
        table.move_cursor(row=table.get_row_index("local"))
        await pilot.press("c")
        await until(pilot, lambda: screen.facts["local"].reachable is True, what="checked")
        text = await shows(pilot, app, "✓ reachable")
        assert "python" in text and "cpus" in text


async def test_a_bad_compute_file_is_shown_not_fatal(live_project):
    (live_project.config_dir / "broken.compute").write_text("type: [nonsense\n")
    app = make_app(live_project)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("T")
        await until(pilot, lambda: isinstance(app.screen, TargetsScreen))
        await until(pilot, lambda: "broken" in app.screen.facts)
        assert app.screen.facts["broken"].error
        await shows(pilot, app, "✗ bad file")


async def test_host_key_is_shown_and_accepted(live_project, monkeypatch):
    calls = []

    def fake_check(project, item, *, accept_host_key=None):
        calls.append(accept_host_key)
        item.checking = False
        if accept_host_key is None:
            item.reachable = False
            raise HostKeyError("host key unknown", host="gpu1:22",
                               fingerprint="SHA256:abcdef123")
        item.reachable, item.facts = True, {"docker_version": "27"}

    monkeypatch.setattr("tui.screens.targets.check_target", fake_check)
    app = make_app(live_project)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_targets(app, pilot)
        await pilot.press("c")
        await until(pilot, lambda: app.screen.__class__.__name__ == "Confirm")
        assert "SHA256:abcdef123" in screen_text(app)
        await pilot.press("y")
        await until(pilot, lambda: calls == [None, "SHA256:abcdef123"])
        await until(pilot, lambda: screen.facts["docker"].reachable is True)


async def test_attach_validates_as_you_type_and_writes(live_project):
    app = make_app(live_project)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_targets(app, pilot)
        await pilot.press("a")
        await until(pilot, lambda: app.screen.__class__.__name__ == "AttachDialog")
        dialog = app.screen
        await pilot.press(*"local")
        assert "already exists" in screen_text(app)
        dialog.query_one("#type").value = "remotedocker"
        await pilot.press("5", "ctrl+s")
        assert app.screen is dialog  # address and base image missing: refused
        assert "a remotedocker target needs this" in screen_text(app)
        dialog.query_one("#f-address").value = "gpu1.example"
        dialog.query_one("#f-base_image").value = "python:3.11"
        dialog.query_one("#f-port").value = "99999"
        await pilot.pause()
        assert "from 1 to 65535" in screen_text(app)
        dialog.query_one("#f-port").value = "2222"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is screen)
        await until(pilot, lambda: notified(app, "attached local5"))
        text = (live_project.config_dir / "local5.compute").read_text()
        assert "remotedocker" in text and "gpu1.example" in text and "2222" in text
        assert (live_project.config_dir / "local5.runconfig").is_file()
        await until(pilot, lambda: "local5" in screen.facts)


async def test_prepare_reports_progress(live_project):
    app = make_app(live_project)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_targets(app, pilot)
        table = screen.query_one("#targets")
        table.move_cursor(row=table.get_row_index("local"))
        await pilot.press("p")
        await shows(pilot, app, "ready: nothing to build on this target")
        assert "using run configuration local" in screen_text(app)
