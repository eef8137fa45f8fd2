"""``deck`` and ``deck dash``: the command that opens the dashboard."""

from __future__ import annotations

import os

from launchdeck.cli.main import build_parser, main


def test_dash_is_the_default_and_takes_no_mouse(live_project, monkeypatch):
    seen = {}

    def fake_run(self, *, mouse=True, **kwargs):
        seen["mouse"] = mouse
        seen["project"] = self.project.root

    monkeypatch.setattr("launchdeck.tui.app.DeckApp.run", fake_run)
    monkeypatch.chdir(live_project.root)
    assert main([]) == 0
    assert seen == {"mouse": True, "project": live_project.root}
    assert main(["dash", "--no-mouse"]) == 0
    assert seen["mouse"] is False
    args = build_parser().parse_args(["dash", "--no-mouse"])
    assert args.no_mouse


def test_over_ssh_frames_are_fewer(live_project, monkeypatch):
    monkeypatch.setattr("launchdeck.tui.app.DeckApp.run", lambda self, **kwargs: None)
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.1 5000 10.0.0.2 22")
    monkeypatch.setenv("TEXTUAL_FPS", "")  # remembered, so teardown removes what dash sets
    monkeypatch.delenv("TEXTUAL_FPS")
    monkeypatch.chdir(live_project.root)
    assert main(["dash"]) == 0
    assert os.environ["TEXTUAL_FPS"] == "20"
