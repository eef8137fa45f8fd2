"""What only the fake target does: scripted prepare and check, and its one limit.

What it shares with every target (output, metrics, cancel, outputs, attach) is in
``test_contract.py``.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from launchdeck.core.errors import ExecutionLost, TargetError
from launchdeck.core.targets.base import NO_EVENTS, EnvironmentSpec, Framework, RunSpec
from launchdeck.core.targets.fake import FakeTarget
from tests.fixtures.events import RecordedEvents


@pytest.fixture
def spec(tmp_path) -> RunSpec:
    from launchdeck.core.config.compute import load_compute
    from launchdeck.core.snapshot.store import ContentStore

    root = tmp_path / "project"
    (root / "aml_config").mkdir(parents=True)
    (root / "aml_config" / "fake.compute").write_text("type: local\n")
    (root / "job.py").write_text("print('ran')\n")
    store = ContentStore(tmp_path / "store")
    env = EnvironmentSpec(project_dir=root, compute=load_compute(root / "aml_config/fake.compute"),
                          conda=None, spark=None)
    return RunSpec(run_id="fake-1", run_dir=tmp_path / "runs" / "fake-1", store=store,
                   snapshot=store.snapshot(root).fingerprint, script="job.py", arguments=(),
                   env=env)


async def test_prepare_check_and_launch_report_what_the_test_scripted(spec):
    target = FakeTarget("gpu-fake", environment_id="env-42", prepare_lines=("step 1", "step 2"),
                        facts={"gpu": "yes"}, max_concurrent_runs=2)
    lines: list[str] = []
    assert await target.prepare(spec.env, progress=lines.append) == "env-42"
    assert lines == ["step 1", "step 2"]
    assert (await target.check())["gpu"] == "yes" and target.max_concurrent_runs == 2
    events = RecordedEvents()
    execution = await target.launch(spec, events)
    assert await execution.wait() == 0
    assert events.environments == ["env-42"]
    await execution.release()


async def test_pyspark_is_refused(spec):
    pyspark = dataclasses.replace(spec, env=dataclasses.replace(spec.env,
                                                                framework=Framework.PYSPARK))
    with pytest.raises(TargetError, match="PySpark does not run on the fake target"):
        await FakeTarget().launch(pyspark, NO_EVENTS)


async def test_a_run_no_thread_of_this_process_watched_has_no_exit_code(spec):
    # As a FakeTarget in another process sees a run once its script ended: the code is lost.
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    execution = await FakeTarget().attach(spec, f"fake pid {ended.stdout.strip()}", NO_EVENTS)
    with pytest.raises(ExecutionLost, match="exit code is unknown"):
        await execution.wait()
    assert [chunk async for chunk in execution.logs(0)] == []
