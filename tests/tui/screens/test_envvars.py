"""The environment variables screen: add, edit, rename, delete, copy, secrets (masked)."""

from __future__ import annotations

import sys
import types

from tests.tui.conftest import make_app, notified, screen_text, shows, until
from tui.screens.envvars import EnvVarsScreen


async def open_env(app, pilot, name="local"):
    app.action_goto("env", name)
    await until(pilot, lambda: isinstance(app.screen, EnvVarsScreen))
    await shows(pilot, app, f"environment variables of {name}")
    return app.screen


def env(project, name="local"):
    return project.load_runconfig(name).environment_variables


def select_row(screen, name):
    table = screen.query_one("#env")
    table.move_cursor(row=table.get_row_index(name))


async def test_add_edit_rename_delete(live_project):
    app = make_app(live_project)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_env(app, pilot)
        await pilot.press("a", *"BAD=NAME")
        assert "not a valid name" in screen_text(app)
        await pilot.press(*["backspace"] * 5, "enter")  # "BAD"
        await pilot.press(*"1", "enter")
        await until(pilot, lambda: env(live_project).get("BAD") == "1")
        select_row(screen, "BAD")
        await pilot.press("e", *["backspace"], *"two words", "enter")
        await until(pilot, lambda: env(live_project).get("BAD") == "two words")
        select_row(screen, "BAD")
        await pilot.press("n", *["backspace"] * 3, *"GREETING")
        assert "GREETING is already set" in screen_text(app)
        await pilot.press(*["backspace"] * 8, *"GOOD", "enter")
        await until(pilot, lambda: "GOOD" in env(live_project) and "BAD" not in env(live_project))
        select_row(screen, "GOOD")
        await pilot.press("d")
        await until(pilot, lambda: app.screen.__class__.__name__ == "Confirm")
        await pilot.press("y")
        await until(pilot, lambda: "GOOD" not in env(live_project))
    text = live_project.runconfig_path("local").read_text()
    assert "# Environment variables set for the run." in text  # comments stay


async def test_copy_from_another_runconfig(live_project):
    app = make_app(live_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_env(app, pilot, "local")
        await pilot.press("y")
        await until(pilot, lambda: app.screen.__class__.__name__ == "Choose")
        await pilot.press("enter")  # docker, the only other one
        await until(pilot, lambda: app.screen.__class__.__name__ == "Confirm")
        assert "replaces the values of" in screen_text(app)
        await pilot.press("y")
        await until(pilot, lambda: env(live_project)["GREETING"] == "hello from docker")


async def test_a_secret_goes_to_the_keyring_and_shows_masked(live_project, monkeypatch):
    stored = {}
    fake = types.ModuleType("keyring")
    fake.set_password = lambda service, user, value: stored.__setitem__((service, user), value)
    monkeypatch.setitem(sys.modules, "keyring", fake)
    app = make_app(live_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_env(app, pilot)
        await pilot.press("k", *"API_TOKEN", "enter", *"s3cr3t-value", "enter")
        await until(pilot, lambda: "API_TOKEN" in env(live_project))
        text = await shows(pilot, app, "••••••••")
        assert "s3cr3t-value" not in text
    assert stored == {("launchdeck", "project.local.API_TOKEN"): "s3cr3t-value"}
    assert env(live_project)["API_TOKEN"] == "keyring:launchdeck/project.local.API_TOKEN"
    assert "s3cr3t" not in live_project.runconfig_path("local").read_text()


async def test_without_keyring_nothing_is_written(live_project, monkeypatch):
    monkeypatch.setitem(sys.modules, "keyring", None)  # import keyring -> ImportError
    before = live_project.runconfig_path("local").read_text()
    app = make_app(live_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_env(app, pilot)
        await pilot.press("k", *"TOKEN", "enter", *"x", "enter")
        await until(pilot, lambda: notified(app, "keyring"))
    assert live_project.runconfig_path("local").read_text() == before
