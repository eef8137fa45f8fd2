"""Fixtures for dashboard tests: fixed time zone, projects with history, an app to drive."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from launchdeck.core.project import Project
from tests.tui.projects import clock, copy_sample, fill_history, sample_runs


@pytest.fixture(autouse=True)
def _fixed_environment(monkeypatch, tmp_path):
    # Snapshots show local times: make "local" the same everywhere. No user keys file.
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    yield
    time.tzset()


@pytest.fixture
def history_project(tmp_path) -> tuple[Project, list[str]]:
    """A project whose history holds five made-up runs, one in every state but Preparing."""
    project = copy_sample(tmp_path)
    return project, fill_history(project, sample_runs())


def make_app(project: Project, **options):
    from launchdeck.tui.app import DeckApp

    options.setdefault("revive_runs", False)
    options.setdefault("check_targets", False)
    options.setdefault("poll_seconds", 0.05)
    return DeckApp(project, **options)


@pytest.fixture
def fixed_app(history_project):
    """The dashboard on ``history_project`` with the clock stopped at the fixture's NOW."""
    project, _ = history_project
    return make_app(project, clock=clock)


@pytest.fixture
def live_project(project) -> Project:
    """The shared ``project`` fixture (a real sample project) as a ``Project``."""
    return Project(Path(project))


async def until(pilot, predicate, timeout: float = 20.0, what: str = "condition") -> None:
    """Let the app run until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def screen_text(app) -> str:
    """What the terminal shows (the top screen, modals included), as plain text."""
    strips = app.screen._compositor.render_strips()  # noqa: SLF001 - no public text dump
    return "\n".join(strip.text.rstrip() for strip in strips)


async def shows(pilot, app, text: str, timeout: float = 20.0) -> str:
    """Wait until the terminal shows ``text``; return the screen."""
    try:
        await until(pilot, lambda: text in screen_text(app), timeout=timeout, what=repr(text))
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the screen shows:\n{screen_text(app)}") from None
    return screen_text(app)


def footer(app) -> str:
    """The bottom line: the keys the footer offers now."""
    return screen_text(app).rstrip("\n").rsplit("\n", 1)[-1]


def notified(app, text: str) -> bool:
    """Whether a notification (toast) holding ``text`` is up."""
    return any(text in f"{n.title} {n.message}" for n in app._notifications)  # noqa: SLF001


def refreshes(widget) -> list[bool]:
    """From now on, the ``layout`` flag of each refresh ``widget`` asks for (each redraw)."""
    asked: list[bool] = []
    refresh = widget.refresh

    def counted(*regions, layout: bool = False, **options):
        asked.append(layout)
        return refresh(*regions, layout=layout, **options)

    widget.refresh = counted
    return asked
