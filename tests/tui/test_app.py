"""The app as a whole: :go-to, help, palette, key remapping, NO_COLOR, SSH, never-blocking."""

from __future__ import annotations

from tests.tui.conftest import make_app, screen_text, shows, until
from tests.tui.projects import clock
from launchdeck.tui.screens.compare import CompareScreen
from launchdeck.tui.screens.envvars import EnvVarsScreen
from launchdeck.tui.screens.help import HelpScreen
from launchdeck.tui.screens.run_detail import RunDetailScreen
from launchdeck.tui.screens.runconfigs import RunConfigsScreen
from launchdeck.tui.screens.runs import RunsScreen
from launchdeck.tui.screens.targets import TargetsScreen


async def goto(pilot, app, command):
    await pilot.press("colon", *command, "enter")
    await pilot.pause()


async def test_colon_jumps_to_every_view(fixed_app, history_project):
    _, ids = history_project
    async with fixed_app.run_test() as pilot:
        await until(pilot, lambda: len(fixed_app.runs) == 5)
        for command, screen in (("targets", TargetsScreen), ("configs", RunConfigsScreen),
                                ("env docker", EnvVarsScreen), ("runs", RunsScreen),
                                ("run 1764320460000", RunDetailScreen)):
            await goto(pilot, fixed_app, command)
            await until(pilot, lambda: isinstance(fixed_app.screen, screen), what=command)
        assert fixed_app.screen.run_id == ids[1]
        await goto(pilot, fixed_app, "help")
        await until(pilot, lambda: isinstance(fixed_app.screen, HelpScreen), what=":help")
        await pilot.press("escape")
        await goto(pilot, fixed_app, f"compare {ids[0]} {ids[2]}")
        await until(pilot, lambda: isinstance(fixed_app.screen, CompareScreen), what=":compare")
        await pilot.press("escape")
        await goto(pilot, fixed_app, "nonsense")
        assert isinstance(fixed_app.screen, RunDetailScreen)
        await goto(pilot, fixed_app, "rc")  # alias; top-level views do not pile up
        await until(pilot, lambda: isinstance(fixed_app.screen, RunConfigsScreen))
        assert len(fixed_app.screen_stack) == 3
        await pilot.press("escape")
        assert isinstance(fixed_app.screen, RunsScreen)
        await pilot.press("escape")  # nothing above home: stays
        assert isinstance(fixed_app.screen, RunsScreen)


async def test_global_screen_keys(fixed_app):
    async with fixed_app.run_test() as pilot:
        for key, screen in (("T", TargetsScreen), ("C", RunConfigsScreen),
                            ("E", EnvVarsScreen), ("R", RunsScreen)):
            await pilot.press(key)
            await until(pilot, lambda: isinstance(fixed_app.screen, screen), what=key)


async def test_help_lists_the_keys_of_the_screen(fixed_app):
    async with fixed_app.run_test(size=(100, 40)) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(fixed_app.screen, HelpScreen))
        text = screen_text(fixed_app)
        for line in ("Submit", "runs.submit", "Cancel", "Rerun", "Compare", "Filter", "Mark"):
            assert line in text
        await pilot.press("escape")
        await pilot.press("T", "question_mark")
        assert "targets.attach" in await shows(pilot, fixed_app, "Attach")


async def test_palette_finds_screens_actions_and_runs(fixed_app, history_project):
    _, ids = history_project
    async with fixed_app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: len(fixed_app.runs) == 5)
        await pilot.press("ctrl+p", *"targets")
        await shows(pilot, fixed_app, "Go to targets")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(fixed_app.screen, TargetsScreen))
        await pilot.press("escape", "ctrl+p", *"1764320460")
        await shows(pilot, fixed_app, ids[1])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(fixed_app.screen, RunDetailScreen))
        assert fixed_app.screen.run_id == ids[1]
        await pilot.press("escape", "ctrl+p", *"submit")
        await shows(pilot, fixed_app, "Submit")
        await pilot.press("enter")
        await until(pilot, lambda: fixed_app.screen.__class__.__name__ == "SubmitDialog")


async def test_keys_file_remaps_and_help_shows_it(history_project, tmp_path):
    project, _ = history_project
    keys = tmp_path / "keys.toml"
    keys.write_text('[keys]\n"runs.submit" = "n"\n"app.targets" = "f2"\n"bad.id" = "z"\n')
    app = make_app(project, clock=clock, keys_file=keys)
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: any("bad.id" in n.message for n in app._notifications))
        await pilot.press("n")
        await until(pilot, lambda: app.screen.__class__.__name__ == "SubmitDialog")
        await pilot.press("escape", "s")
        await pilot.pause(0.2)
        assert isinstance(app.screen, RunsScreen)  # s no longer submits
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, TargetsScreen))


async def test_no_color_is_honoured(history_project, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    project, _ = history_project
    app = make_app(project, clock=clock)
    async with app.run_test() as pilot:
        await until(pilot, lambda: len(app.runs) == 5)
        assert app.no_color
        svg = app.export_screenshot()
    # Only greys are left: every colour in the picture has equal red, green and blue.
    import re

    colours = set(re.findall(r"#([0-9a-f]{6})", svg)) - WINDOW_CHROME
    assert colours and all(c[0:2] == c[2:4] == c[4:6] for c in colours), sorted(
        c for c in colours if not c[0:2] == c[2:4] == c[4:6])


# The screenshot's window buttons and its default text colour are not the app's.
WINDOW_CHROME = {"ff5f57", "febc2e", "28c840", "c5c8c6"}


async def test_over_ssh_animations_are_off_and_polls_slower(history_project, monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.1 5000 10.0.0.2 22")
    project, _ = history_project
    from launchdeck.tui.app import DeckApp

    app = DeckApp(project, revive_runs=False, check_targets=False)
    assert app.animation_level == "none" and app.poll_seconds >= 0.5


async def test_history_is_read_off_the_ui_thread(fixed_app, monkeypatch):
    import threading

    from launchdeck.core.history.store import HistoryStore

    threads = set()
    original = HistoryStore.list_runs

    def spy(self, *args, **kwargs):
        threads.add(threading.current_thread() is threading.main_thread())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(HistoryStore, "list_runs", spy)
    async with fixed_app.run_test() as pilot:
        await until(pilot, lambda: len(fixed_app.runs) == 5)
        await pilot.press("j", "enter")
        await pilot.pause(0.5)
    assert threads == {False}
