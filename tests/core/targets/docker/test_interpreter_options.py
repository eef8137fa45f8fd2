"""ArgumentVector entries before ``$file`` reach the container's Python as its own options."""

from __future__ import annotations

import dataclasses

import pytest

from launchdeck.core.targets.base import NO_EVENTS
pytestmark = pytest.mark.docker

SHOW = "import sys\nprint(sys.flags.optimize, sys.warnoptions, sys.argv[1:])\n"


async def test_interpreter_options_go_before_the_script_in_the_container(docker_project):
    docker_project.write("show.py", SHOW)
    env = docker_project.env(conda=None)
    target = docker_project.target(env)
    try:
        await target.ensure_image(env, progress=lambda _: None)
        spec = dataclasses.replace(docker_project.run_spec(env, "run-opts", "show.py", "a"),
                                   interpreter_options=("-O", "-W", "ignore::DeprecationWarning"))
        execution = await target.launch(spec, NO_EVENTS)
        output = b"".join([chunk async for chunk in execution.logs(0)])
        assert await execution.wait() == 0
        assert output == b"1 ['ignore::DeprecationWarning'] ['a']\n"
        await execution.release()
    finally:
        await target.close()
