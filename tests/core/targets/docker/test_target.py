"""Runs in containers on a real engine: environment, arguments, output, metrics, outputs."""

from __future__ import annotations

import json
import subprocess

import pytest

from launchdeck.core.errors import TargetError
from launchdeck.core.targets.base import NO_EVENTS

pytestmark = pytest.mark.docker

NASTY_ENV = {"NASTY": "a b\n$HOME `id` \"dq\" 'sq' \\ ;|&* é 日本", "EMPTY": "",
             "EQUALS": "a=b=c", "SPACES": "  lead and trail  "}
NASTY_ARGS = ("--flag=1", "a b", "", "$HOME", "é", "*", "line\nbreak", "'q'", "-")

SCRIPT = """\
import json, os, sys
import deckrun
from azureml.logging import get_azureml_logger
print("first line")
sys.stdout.flush()
sys.stdout.buffer.write(b"raw \\xff\\xfe bytes\\n")
sys.stdout.flush()
print("to stderr", file=sys.stderr)
deckrun.log("loss", 0.25)
get_azureml_logger().log("names", ["a", "b"])
os.makedirs("outputs/sub", exist_ok=True)
keys = %r
json.dump({k: os.environ.get(k) for k in keys}, open("outputs/env.json", "w"))
json.dump(sys.argv[1:], open("outputs/args.json", "w"))
open("outputs/sub/blob.bin", "wb").write(bytes(range(256)))
os.symlink("/etc/passwd", "outputs/passwd")
sys.exit(3)
"""


async def run_to_end(target, spec):
    execution = await target.launch(spec, NO_EVENTS)
    output = b"".join([chunk async for chunk in execution.logs(0)])
    metrics = b"".join([chunk async for chunk in execution.metrics(0)])
    return execution, output, metrics, await execution.wait()


async def test_run_keeps_env_args_output_metrics_and_outputs(docker_project, tmp_path):
    docker_project.write("train.py", SCRIPT % (sorted(NASTY_ENV),))
    env = docker_project.env(conda=None)
    target = docker_project.target(env)
    try:
        await target.ensure_image(env, progress=lambda _: None)
        spec = docker_project.run_spec(env, "run-env", "train.py", *NASTY_ARGS,
                                       environment=NASTY_ENV)
        execution, output, metrics, code = await run_to_end(target, spec)
        assert code == 3
        assert output == b"first line\nraw \xff\xfe bytes\nto stderr\n"
        records = [json.loads(line) for line in metrics.splitlines()]
        assert [(r["name"], r["value"]) for r in records] == [("loss", 0.25),
                                                              ("names", ["a", "b"])]
        # Resuming from any byte offset gives exactly the rest.
        assert b"".join([c async for c in execution.logs(11)]) == output[11:]
        dest = tmp_path / "outputs"
        await execution.collect_outputs(dest)
        assert json.loads((dest / "env.json").read_text()) == NASTY_ENV
        assert json.loads((dest / "args.json").read_text()) == list(NASTY_ARGS)
        assert (dest / "sub/blob.bin").read_bytes() == bytes(range(256))
        assert not (dest / "passwd").exists()
        await execution.release()
        gone = subprocess.run(["docker", "inspect", execution.external_id], capture_output=True)
        assert gone.returncode != 0
    finally:
        await target.close()


async def test_container_is_labelled_and_launch_is_idempotent(docker_project):
    docker_project.write("sleep.py", "import time; print('up', flush=True); time.sleep(30)\n")
    env = docker_project.env(conda=None)
    target = docker_project.target(env)
    try:
        await target.ensure_image(env, progress=lambda _: None)
        spec = docker_project.run_spec(env, "run-label", "sleep.py")
        first = await target.launch(spec, NO_EVENTS)
        again = await target.launch(spec, NO_EVENTS)
        assert again.external_id == first.external_id
        labels = subprocess.run(["docker", "inspect", "-f", "{{json .Config.Labels}}",
                                 first.external_id], capture_output=True, text=True).stdout
        assert json.loads(labels)["launchdeck.run_id"] == spec.run_id
        await first.cancel(grace_seconds=0)
        await first.release()
    finally:
        await target.close()


async def test_shared_volumes_and_native_shared_directory(docker_project, tmp_path):
    share = tmp_path / "share"
    docker_project.write("share.py", """\
        import os
        open(os.environ["AZUREML_NATIVE_SHARE_DIRECTORY"] + "kept.txt", "w").write("kept")
        os.makedirs("outputs", exist_ok=True)
        open("outputs/o.txt", "w").write("out")
        print(os.getcwd())
        """)
    env = docker_project.env(conda=None, sharedVolumes=True, nativeSharedDirectory=str(share))
    target = docker_project.target(env)
    try:
        await target.ensure_image(env, progress=lambda _: None)
        spec = docker_project.run_spec(env, "run-share", "share.py")
        execution, output, _, code = await run_to_end(target, spec)
        assert code == 0, output
        assert (share / docker_project.root.name / "kept.txt").read_text() == "kept"
        # The code was bind-mounted, so the run's folder holds what the script wrote.
        assert (spec.run_dir / "target/work/outputs/o.txt").read_text() == "out"
        await execution.collect_outputs(tmp_path / "collected")
        assert (tmp_path / "collected/o.txt").read_text() == "out"
        await execution.release()
        assert not (spec.run_dir / "target/work").exists()
    finally:
        await target.close()


async def test_unprepared_image_says_to_run_deck_prepare(docker_project):
    env = docker_project.env(conda="dependencies:\n  - pip:\n    - deck-never-built==0.0\n")
    docker_project.write("x.py", "print(1)\n")
    target = docker_project.target(env)
    try:
        with pytest.raises(TargetError, match=r"run 'deck prepare -c \w+' first"):
            await target.launch(docker_project.run_spec(env, "run-np", "x.py"),
                                NO_EVENTS)
    finally:
        await target.close()


async def test_nvidia_docker_without_gpu_runtime_is_a_clear_error(docker_project):
    info = subprocess.run(["docker", "info", "-f", "{{json .Runtimes}}"],
                          capture_output=True, text=True).stdout
    if "nvidia" in info:
        pytest.skip("this engine has a GPU runtime")
    docker_project.write("x.py", "print(1)\n")
    env = docker_project.env(conda=None, nvidiaDocker=True)
    target = docker_project.target(env)
    try:
        await target.ensure_image(env, progress=lambda _: None)
        facts = await target.check()
        assert facts["gpu"] == "no"
        spec = docker_project.run_spec(env, "run-gpu", "x.py")
        with pytest.raises(TargetError, match="nvidiaDocker is true but .* no GPU support"):
            await target.launch(spec, NO_EVENTS)
        left = subprocess.run(["docker", "ps", "-aq", "--filter",
                               "label=launchdeck.run_id=" + spec.run_id],
                              capture_output=True, text=True).stdout
        assert left.strip() == ""
    finally:
        await target.close()


async def test_check_reports_engine_and_base_image(docker_project):
    env = docker_project.env(conda=None)
    target = docker_project.target(env)
    try:
        facts = await target.check()
    finally:
        await target.close()
    assert facts["api_version"] and facts["engine_version"] and facts["os"]
    assert facts["base_image"] == docker_project.base_image
    assert facts["base_image_id"].startswith("sha256:")


async def test_project_modules_do_not_shadow_the_launchers_imports(docker_project):
    for name in ("json", "signal", "time"):
        docker_project.write(f"{name}.py", "raise SystemExit('shadowed stdlib module')\n")
    docker_project.write("ok.py", "print('ok')\n")
    env = docker_project.env(conda=None)
    target = docker_project.target(env)
    try:
        await target.ensure_image(env, progress=lambda _: None)
        execution, output, _, code = await run_to_end(
            target, docker_project.run_spec(env, "run-shadow", "ok.py"))
        assert (code, output) == (0, b"ok\n")
        await execution.release()
    finally:
        await target.close()


WORKBENCH_SCRIPT = """\
import os, pickle
share = os.environ["AZUREML_NATIVE_SHARE_DIRECTORY"]
seen = open(share + "runs.txt").read() if os.path.exists(share + "runs.txt") else ""
print("seen:" + seen.replace("\\n", ","))
open(share + "runs.txt", "a").write(os.environ["DECK_RUN_ID"] + "\\n")
pickle.dump({"model": 1}, open("./outputs/model.pkl", "wb"))
"""


@pytest.mark.parametrize("shared_volumes", [False, True])
async def test_a_workbench_script_finds_outputs_and_a_share_that_persists(
        docker_project, tmp_path, shared_volumes):
    """./outputs/ exists before the script starts; the share keeps files from run to run."""
    share = tmp_path / "share"
    docker_project.write("wb.py", WORKBENCH_SCRIPT)
    env = docker_project.env(conda=None, sharedVolumes=shared_volumes,
                             nativeSharedDirectory=str(share))
    target = docker_project.target(env)
    try:
        await target.ensure_image(env, progress=lambda _: None)
        outputs = []
        for name in ("run-wb1", "run-wb2"):
            spec = docker_project.run_spec(env, name, "wb.py")
            execution, output, _, code = await run_to_end(target, spec)
            assert code == 0, output
            await execution.collect_outputs(tmp_path / spec.run_id)
            assert (tmp_path / spec.run_id / "model.pkl").exists()
            await execution.release()
            outputs.append((spec.run_id, output.decode()))
        (first, out1), (second, out2) = outputs
        assert out1 == "seen:\n"
        assert out2 == f"seen:{first},\n"
        folder = share / docker_project.root.name
        assert (folder / "runs.txt").read_text() == f"{first}\n{second}\n"
        assert folder.stat().st_uid == __import__("os").getuid()
    finally:
        await target.close()


async def test_an_image_that_does_not_run_as_root_runs_with_its_files_and_variables(
        docker_project, tmp_path):
    """Its files cannot be unpacked by the container's own user: they go in through the
    engine while the container starts, and the run is the same as on a root image."""
    context = tmp_path / "nobody"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {docker_project.base_image}\nUSER nobody\n")
    image = "deck-test-nobody:latest"
    subprocess.run(["docker", "build", "-q", "-t", image, str(context)], check=True,
                   capture_output=True)
    docker_project.base_image = image
    docker_project.write("who.py", "import os\nopen('outputs/who.txt', 'w').write('me')\n"
                                   "print('uid', os.getuid(), os.environ.get('TOKEN'))\n")
    env = docker_project.env(conda=None, userManagedEnvironment=True)
    target = docker_project.target(env)
    try:
        spec = docker_project.run_spec(env, "run-nobody", "who.py",
                                       environment={"TOKEN": "t0ken"})
        execution, output, _metrics, code = await run_to_end(target, spec)
        assert (code, output) == (0, b"uid 65534 t0ken\n")
        await execution.collect_outputs(tmp_path / "outputs")
        assert (tmp_path / "outputs" / "who.txt").read_text() == "me"
        await execution.release()
    finally:
        await target.close()
