"""The run configurations screen: edit with checks as you type, diff, then a byte-exact write."""

from __future__ import annotations

import pytest

from tests.tui.conftest import footer, make_app, notified, screen_text, shows, until
from launchdeck.tui.screens.runconfigs import RunConfigsScreen


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
        # By keyboard: enter goes to the form (Target), tab to Framework, tab to Arguments.
        await pilot.press("enter", "tab", "tab")
        assert screen.focused is screen.query_one("#f-ArgumentVector")
        await pilot.press("end", *" 'open")
        await shows(pilot, app, "cannot split into arguments: No closing quotation")
        await pilot.press("tab", *"../outside.yml")
        await shows(pilot, app, "must be a path inside the project")
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


async def test_escape_on_the_diff_leaves_the_file_byte_identical(live_project):
    path = live_project.runconfig_path("local")
    before = path.read_bytes()
    app = make_app(live_project)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_configs(app, pilot)
        screen.query_one("#f-ArgumentVector").value = "$file --epochs 9"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ReviewDiff")
        await shows(pilot, app, "--epochs")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        assert "changed: ctrl+s saves" in screen_text(app)  # the edit is still in the form
    assert path.read_bytes() == before


async def test_an_unknown_target_is_named_and_must_be_changed(live_project):
    path = live_project.runconfig_path("local")
    path.write_text(path.read_text().replace('"Target": "local"', '"Target": "gpu9"'))
    before = path.read_bytes()
    app = make_app(live_project)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_configs(app, pilot)
        await shows(pilot, app, "no aml_config/gpu9.compute")
        assert "gpu9 (missing)" in screen_text(app)
        screen.query_one("#f-TrackedRun").value = False
        await pilot.press("ctrl+s")
        await until(pilot, lambda: notified(app, "Target: no aml_config/gpu9.compute"))
        assert path.read_bytes() == before
        screen.query_one("#f-Target").value = "docker"
        await pilot.pause()
        assert "no aml_config/gpu9.compute" not in screen_text(app)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ReviewDiff")
        await pilot.press("y")
        await until(pilot, lambda: notified(app, "wrote aml_config/local.runconfig"))
    config = live_project.load_runconfig("local")
    assert (config.target, config.tracked_run) == ("docker", False)


async def test_a_missing_dependency_file_warns_but_may_be_saved(live_project):
    app = make_app(live_project)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_configs(app, pilot)
        screen.query_one("#f-CondaDependenciesFile").value = "envs/gpu.yml"
        await shows(pilot, app, "envs/gpu.yml does not exist yet: runs fail until it does")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ReviewDiff")
        await pilot.press("y")
        await until(pilot, lambda: notified(app, "wrote aml_config/local.runconfig"))
    assert live_project.load_runconfig("local").conda_dependencies_file == "envs/gpu.yml"


LEAVING = {"up": ["up"], "escape": ["escape"], "goto-targets": [*":targets", "enter"],
           "goto-runs": [*":runs", "enter"], "goto-quit": [*":quit", "enter"],
           "ctrl+q": ["ctrl+q"]}


@pytest.mark.parametrize("leave", LEAVING)
async def test_unsaved_edits_are_not_dropped_without_asking(live_project, leave):
    path = live_project.runconfig_path("local")
    before = path.read_bytes()
    app = make_app(live_project)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_configs(app, pilot)
        screen.query_one("#f-ArgumentVector").value = "$file --epochs 11"
        screen.query_one("#rc-list").focus()
        await pilot.press(*LEAVING[leave])
        await until(pilot, lambda: app.screen.__class__.__name__ == "Confirm", what="asked")
        assert "Discard your changes to local?" in screen_text(app)
        await pilot.press("n")  # keep them: still here, edits and all
        await until(pilot, lambda: app.screen is screen)
        assert screen.name_shown == "local" and screen.current_runconfig() == "local"
        assert screen.query_one("#f-ArgumentVector").value == "$file --epochs 11"
        await pilot.press(*LEAVING[leave])
        await until(pilot, lambda: app.screen.__class__.__name__ == "Confirm", what="asked")
        await pilot.press("y")
        if leave in ("goto-quit", "ctrl+q"):
            await until(pilot, lambda: not app.is_running, what="quit")
        elif leave == "up":
            await until(pilot, lambda: screen.name_shown == "docker", what="docker shown")
        else:
            want = "TargetsScreen" if leave == "goto-targets" else "RunsScreen"
            await until(pilot, lambda: app.screen.__class__.__name__ == want, what=want)
    assert path.read_bytes() == before


async def test_saving_keeps_a_change_made_to_the_file_meanwhile(live_project):
    from launchdeck.core.config.runconfig import set_field

    app = make_app(live_project)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_configs(app, pilot)
        set_field(live_project.runconfig_path("local"), "TrackedRun", False)  # deck runconfig
        screen.query_one("#f-ArgumentVector").value = "$file --epochs 3"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ReviewDiff")
        assert "TrackedRun" not in screen_text(app)  # only the user's edit is in the diff
        await pilot.press("y")
        await until(pilot, lambda: notified(app, "wrote aml_config/local.runconfig"))
    config = live_project.load_runconfig("local")
    assert config.argument_vector == ("$file", "--epochs", "3") and config.tracked_run is False


async def test_help_lists_the_keys_and_colon_reaches_the_screen(live_project):
    app = make_app(live_project)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("colon", *"configs", "enter")
        await until(pilot, lambda: isinstance(app.screen, RunConfigsScreen))
        await pilot.press("question_mark")
        text = await shows(pilot, app, "configs.save")
        for key in ("configs.revert", "configs.new", "configs.env", "Back"):
            assert key in text


async def test_the_footer_offers_save_once_there_is_something_to_save(live_project):
    app = make_app(live_project)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_configs(app, pilot)
        await until(pilot, lambda: "Env vars" in footer(app) and "Save" not in footer(app),
                    what="nothing to save")
        screen.query_one("#f-TrackedRun").value = False
        await until(pilot, lambda: "Save" in footer(app) and "Revert" in footer(app),
                    what="save key")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "Save" not in footer(app), what="nothing to save again")


async def test_unknown_and_workbench_keys_are_named_with_file_and_line(live_project):
    path = live_project.runconfig_path("local")
    path.write_text(path.read_text() + "UseSampling: true\nTaget: local\n")
    lines = len(path.read_text().splitlines())
    app = make_app(live_project)
    async with app.run_test(size=(120, 50)) as pilot:
        await open_configs(app, pilot)
        await shows(pilot, app, "Taget: unknown key, ignored; did you mean Target?")
        text = screen_text(app)
        assert f":{lines}: warning: Taget: unknown key" in text  # file:line (the path wraps)
        assert "UseSampling: Workbench key, not supported by deck" in text
