"""One builder makes every target's run environment; only the far-side paths differ."""

from __future__ import annotations

from launchdeck.core.targets.runenv import RunPaths, run_environment

PATHS = RunPaths(runtime="/r/runtime", work="/r/work", metrics="/r/metrics.jsonl")


def test_deck_s_own_variables_are_added_and_win():
    env = run_environment({"TOKEN": "s3cret", "DECK_RUN_ID": "mine", "PYTHONUNBUFFERED": "0"},
                          run_id="run-1", paths=PATHS)
    assert env == {"TOKEN": "s3cret", "PYTHONPATH": "/r/runtime:/r/work",
                   "DECK_RUN_ID": "run-1", "DECK_METRICS_FILE": "/r/metrics.jsonl",
                   "PYTHONUNBUFFERED": "1"}


def test_the_user_s_pythonpath_follows_deck_s_and_replaces_the_inherited_one():
    def path(variables, inherited):
        return run_environment(variables, run_id="r", paths=PATHS,
                               inherited_pythonpath=inherited)["PYTHONPATH"]

    assert path({"PYTHONPATH": "/lib/a:/lib/b"}, "/image") == "/r/runtime:/r/work:/lib/a:/lib/b"
    assert path({}, "/image") == "/r/runtime:/r/work:/image"
    assert path({"PYTHONPATH": ""}, "/image") == "/r/runtime:/r/work"  # cleared, as in a shell


def test_the_native_share_is_named_only_where_the_target_has_one():
    with_share = RunPaths(runtime="@ROOT@/runtime", work="@ROOT@/work",
                          metrics="@ROOT@/metrics.jsonl", share="/azureml-share/")
    env = run_environment({"AZUREML_NATIVE_SHARE_DIRECTORY": "/mine"}, run_id="r",
                          paths=with_share)
    assert env["AZUREML_NATIVE_SHARE_DIRECTORY"] == "/azureml-share/"
    env = run_environment({"AZUREML_NATIVE_SHARE_DIRECTORY": "/mine"}, run_id="r", paths=PATHS)
    assert env["AZUREML_NATIVE_SHARE_DIRECTORY"] == "/mine"  # the user's, untouched
