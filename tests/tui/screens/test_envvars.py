"""The environment variables screen: add, edit, rename, delete, copy, secrets (masked)."""

from __future__ import annotations

import json
import sys

from launchdeck.core.config.runconfig import set_env
from tests.fixtures.projects import Deck, run_id_of
from tests.tui.conftest import footer, make_app, notified, screen_text, shows, until
from launchdeck.tui.screens.envvars import EnvVarsScreen


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
        await pilot.press("enter", *["backspace"], *"two words", "enter")  # enter edits too
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


async def test_a_secret_goes_to_the_keyring_never_to_the_file(live_project, system_keyring):
    """s turns GREETING into a keyring secret; a real run still gets the value."""
    secret = "s3cr3t-greeting-4711"
    path = live_project.runconfig_path("local")
    app = make_app(live_project)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_env(app, pilot)
        select_row(screen, "GREETING")
        await pilot.press("s")
        await until(pilot, lambda: app.screen.__class__.__name__ == "Prompt")
        assert "GREETING" in screen_text(app)  # the selected variable is offered
        await pilot.press("enter")
        await shows(pilot, app, "replaces the current value")
        await pilot.press(*secret)
        assert secret not in screen_text(app)  # typed as a password
        await pilot.press("enter")
        await until(pilot, lambda: env(live_project)["GREETING"].startswith("keyring:"))
        text = await shows(pilot, app, "••••••••")
        assert secret not in text
    ref = env(live_project)["GREETING"]
    assert ref == "keyring:launchdeck/project.local.GREETING"
    assert system_keyring.get("launchdeck", "project.local.GREETING") == secret
    assert secret.encode() not in path.read_bytes()
    assert "# Environment variables set for the run." in path.read_text()

    deck = Deck(live_project.root)  # made now: it inherits the keyring's environment
    result = deck("submit", "-c", "local", "train.py", "--epochs", "1", "--sleep", "0",
                  check=True)
    assert secret in result.out  # train.py prints GREETING: the run had the value
    recorded = live_project.history.get_run(run_id_of(result.out)).config
    assert recorded["env.GREETING"] == ref and secret not in json.dumps(recorded)

    # Deleting the variable says where its secret stays (another runconfig may use it).
    app = make_app(live_project)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_env(app, pilot)
        select_row(screen, "GREETING")
        await pilot.press("d")
        await shows(pilot, app, "keyring del launchdeck project.local.GREETING")
        await pilot.press("y")
        await until(pilot, lambda: "GREETING" not in env(live_project), what="deleted")
    assert system_keyring.get("launchdeck", "project.local.GREETING") == secret


async def test_a_secret_missing_from_the_keyring_stops_the_submit(live_project, system_keyring):
    set_env(live_project.runconfig_path("local"), {"TOKEN": "keyring:launchdeck/nobody"})
    result = Deck(live_project.root)("submit", "-c", "local", "train.py")
    assert result.returncode != 0
    assert "EnvironmentVariables.TOKEN" in result.err
    assert "store one with: keyring set launchdeck nobody" in result.err


def secret_key() -> str:
    """The key bound to "keep in the keyring" (looked up: its letter may change)."""
    binding = next(b for b in EnvVarsScreen.BINDINGS if b.id == "env.secret")
    return binding.key.split(",")[0]


async def test_without_keyring_it_says_so_before_asking_for_the_value(live_project, monkeypatch):
    monkeypatch.setitem(sys.modules, "keyring", None)  # import keyring -> ImportError
    set_env(live_project.runconfig_path("local"), {"TOKEN": "keyring:launchdeck/old"})
    before = live_project.runconfig_path("local").read_text()
    app = make_app(live_project)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_env(app, pilot)
        await pilot.press(secret_key())
        await until(pilot, lambda: notified(app, "the Python package 'keyring' is not installed"))
        assert app.screen is screen  # no name, no value asked for: nothing typed in vain
        await pilot.press(secret_key())
        await pilot.pause(0.2)
        assert app.screen is screen
        # Editing an existing secret: the same, before its value is asked for.
        app.clear_notifications()
        select_row(screen, "TOKEN")
        await pilot.press("enter")
        await until(pilot, lambda: notified(app, "the Python package 'keyring' is not installed"))
        assert app.screen is screen
    assert live_project.runconfig_path("local").read_text() == before


async def test_a_null_block_gets_its_first_variable_and_no_keeps_a_delete(live_project):
    path = live_project.runconfig_path("docker")
    path.write_text(path.read_text().replace(
        "EnvironmentVariables:\n  GREETING: hello from docker\n  LEARNING_RATE: '0.3'\n",
        "EnvironmentVariables: null\n"))
    assert env(live_project, "docker") == {}
    app = make_app(live_project)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_env(app, pilot, "docker")
        await until(pilot, lambda: "Add" in footer(app) and not any(
            key in footer(app) for key in ("Edit", "Del", "Rename")), what="no row keys")
        await pilot.press("a", *"ONLY", "enter", *"1", "enter")
        await until(pilot, lambda: env(live_project, "docker") == {"ONLY": "1"})
        before = path.read_bytes()
        await until(pilot, lambda: "Del" in footer(app), what="keys for the new row")
        select_row(screen, "ONLY")
        await pilot.press("d")
        await until(pilot, lambda: app.screen.__class__.__name__ == "Confirm")
        assert "Delete ONLY from docker?" in screen_text(app)
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen)
        assert path.read_bytes() == before


async def test_a_broken_runconfig_is_reported_and_left_alone(live_project):
    path = live_project.runconfig_path("local")
    path.write_text(path.read_text().replace('"GREETING": "hello from local"',
                                             '"GREETING": [not, text]'))
    before = path.read_bytes()
    app = make_app(live_project)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_env(app, pilot, "docker")
        screen.query_one("#env-runconfig").value = "local"
        await shows(pilot, app, "local.runconfig:")  # file:line:column and what is wrong
        assert "hello from docker" not in screen_text(app)  # not the other one's variables
        # Nothing to add to or edit in a file that does not load: those keys are gone.
        await until(pilot, lambda: not any(key in footer(app)
                                           for key in ("Add", "Edit", "Secret")))
        await pilot.press("a")
        assert app.screen is screen
    assert path.read_bytes() == before


async def test_help_lists_the_keys_and_escape_goes_back(live_project):
    app = make_app(live_project)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("colon", *"env docker", "enter")
        await until(pilot, lambda: isinstance(app.screen, EnvVarsScreen))
        await shows(pilot, app, "environment variables of docker")
        await pilot.press("question_mark")
        text = await shows(pilot, app, "env.secret")
        for key in ("env.add", "env.edit", "env.rename", "env.delete", "env.copy"):
            assert key in text
        await pilot.press("escape")  # closes the help
        await until(pilot, lambda: isinstance(app.screen, EnvVarsScreen))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.__class__.__name__ == "RunsScreen")
