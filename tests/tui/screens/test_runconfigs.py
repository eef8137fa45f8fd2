"""The run configurations screen: edit with checks as you type, diff, then a byte-exact write."""

from __future__ import annotations

from tests.tui.conftest import make_app, notified, screen_text, shows, until
from tui.screens.runconfigs import RunConfigsScreen


async def open_configs(app, pilot, name="local"):
    await pilot.press("C")
    await until(pilot, lambda: isinstance(app.screen, RunConfigsScreen))
    screen = app.screen
    table = screen.query_one("#rc-list")
    table.move_cursor(row=table.get_row_index(name))
    await until(pilot, lambda: screen.name_shown == name)
    return screen


async def test_edit_shows_diff_and_keeps_comments(live_project):
    path = live_project.runconfig_path("local")
    before = path.read_text()
    app = make_app(live_project)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_configs(app, pilot)
        screen.query_one("#f-ArgumentVector").value = "$file --epochs 7"
        screen.query_one("#f-PrepareEnvironment").value = True
        await pilot.pause()
        assert "changed: ctrl+s saves" in screen_text(app)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ReviewDiff")
        text = screen_text(app)
        assert '-  - "5"' in text and '+  - "7"' in text or "+  - 7" in text or '"7"' in text
        assert "PrepareEnvironment" in text
        assert path.read_text() == before  # nothing written before yes
        await pilot.press("y")
        await until(pilot, lambda: notified(app, "wrote aml_config/local.runconfig"))
    after = path.read_text()
    assert after.count("#") == before.count("#")  # every comment kept
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert len(changed) == 2 and len(before.splitlines()) == len(after.splitlines())
    assert live_project.load_runconfig("local").argument_vector == ("$file", "--epochs", "7")


async def test_problems_show_while_typing_and_block_saving(live_project):
    path = live_project.runconfig_path("local")
    before = path.read_text()
    app = make_app(live_project)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_configs(app, pilot)
        screen.query_one("#f-ArgumentVector").value = "$file 'open"
        screen.query_one("#f-CondaDependenciesFile").value = "../outside.yml"
        await pilot.pause()
        text = screen_text(app)
        assert "cannot split into arguments" in text
        assert "must be a path inside the project" in text
        await pilot.press("ctrl+s")
        await until(pilot, lambda: notified(app, "Not saved"))
        assert app.screen is screen
        await pilot.press("ctrl+r")  # revert
        await pilot.pause()
        assert "cannot split" not in screen_text(app)
    assert path.read_text() == before


async def test_declining_the_diff_writes_nothing(live_project):
    path = live_project.runconfig_path("docker")
    before = path.read_bytes()
    app = make_app(live_project)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_configs(app, pilot, "docker")
        screen.query_one("#f-TrackedRun").value = False
        await pilot.press("ctrl+s")

        await until(pilot, lambda: app.screen.__class__.__name__ == "ReviewDiff")
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen)
    assert path.read_bytes() == before


async def test_new_runconfig_and_jump_to_its_env_vars(live_project):
    app = make_app(live_project)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_configs(app, pilot)
        await pilot.press("n")
        await until(pilot, lambda: app.screen.__class__.__name__ == "Prompt")
        await pilot.press(*"local", "enter")
        assert app.screen.__class__.__name__ == "Prompt"  # exists: refused
        await pilot.press(*"fast", "enter")
        await until(pilot, lambda: live_project.runconfig_path("localfast").is_file())
        await until(pilot, lambda: app.screen.name_shown == "localfast")
        await pilot.press("e")
        await shows(pilot, app, "environment variables of localfast")
