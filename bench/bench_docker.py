"""The Docker target against plain docker, on the real engine (scripts/infra/docker.sh).

1. ``deck prepare`` with nothing changed: the prepare path in-process (connect, look the base
   image up, hash, find the image), median of several; and through the CLI (a new process,
   as a user runs it; goal <= 0.3 s) against ``python -c pass``.
2. Submit to first output line on a prepared image: launch through the target and read the
   first log chunk, against ``docker run --rm IMAGE python3 script.py`` reading its first line;
   then ``deck submit`` through the CLI (a new process and the run's keeper, as a user runs it)
   reading its first line of the script, against the same ``docker run --rm``.
3. A cold environment build (``pip install six`` through the CA bundle, no build cache)
   against ``docker build --no-cache`` of an equivalent hand-written Dockerfile, interleaved;
   the ratio is against the classic builder (the issue's baseline), and the hand-written
   build with BuildKit is printed too. Deck builds with BuildKit where the engine has it, so
   its pip download cache (a cache mount) survives ``--no-cache``, as it is meant to.

Prints medians and ratios; asserts nothing about time.
Run: python bench/bench_docker.py [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import REPO, deck_command, median, report, time_command  # noqa: E402
from tests.fixtures.docker_engine import CA_BUNDLE, DockerProject  # noqa: E402
from launchdeck.core.targets.base import NO_EVENTS  # noqa: E402

CONDA = "dependencies:\n  - python=3.11\n  - pip\n  - pip:\n    - six\n"
SCRIPT = "print('first line', flush=True)\nimport time; time.sleep(0.5)\nprint('done')\n"


def quiet(_line: str) -> None:
    pass


async def bench_prepare(project: DockerProject, repeat: int) -> None:
    env = project.env(conda=CONDA, buildCaBundle=CA_BUNDLE)
    target = project.target(env)
    await target.ensure_image(env, progress=quiet)
    await target.close()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        target = project.target(env)
        result = await target.ensure_image(env, progress=quiet)
        await target.close()
        times.append(time.perf_counter() - start)
        assert not result.built
    report("deck prepare, nothing changed (median, in-process)", median(times))
    project.write("aml_config/docker.runconfig",
                  'ArgumentVector: ["$file"]\nTarget: docker\nFramework: Python\n')
    deck = [*deck_command(), "prepare", "-c", "docker"]
    time_command(deck, cwd=project.root)  # keeps the checked configs, as any first use does
    cli, python = [], []
    for _ in range(max(repeat, 10)):
        python.append(time_command([sys.executable, "-c", "pass"], cwd=project.root))
        cli.append(time_command(deck, cwd=project.root))
    report("deck prepare, nothing changed, CLI (median)", median(cli), baseline=median(python),
           goal="<= 0.3 s")
    report("  python -c pass (median)", median(python))


async def bench_first_line(project: DockerProject, repeat: int) -> None:
    project.write("first.py", SCRIPT)
    env = project.env(conda=CONDA, buildCaBundle=CA_BUNDLE)
    target = project.target(env)
    ref = (await target.ensure_image(env, progress=quiet)).ref
    deck_times, docker_times = [], []
    try:
        for i in range(repeat):
            spec = project.run_spec(env, f"bench-first-{i}", "first.py")
            start = time.perf_counter()
            execution = await target.launch(spec, NO_EVENTS)
            async for _chunk in execution.logs(0):
                break
            deck_times.append(time.perf_counter() - start)
            await execution.wait()
            await execution.release()
            docker_times.append(_docker_run_first_line(ref, project.root / "first.py"))
    finally:
        await target.close()
    report("submit to first output line, in-process (median)", median(deck_times),
           baseline=median(docker_times), goal="<= 1.1x")
    report("  docker run --rm first line (median)", median(docker_times))
    cli_times, docker_times = [], []
    for _ in range(repeat):
        cli_times.append(_deck_submit_first_line(project.root))
        docker_times.append(_docker_run_first_line(ref, project.root / "first.py"))
    report("deck submit to first output line, CLI (median)", median(cli_times),
           baseline=median(docker_times))
    report("  docker run --rm first line (median)", median(docker_times))


def _deck_submit_first_line(root: Path) -> float:
    """``deck submit -c docker first.py`` until the script's first line is on its stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen([*deck_command(), "submit", "-c", "docker", "first.py"], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    while (line := proc.stdout.readline()) and line != b"first line\n":
        pass
    took = time.perf_counter() - start
    proc.wait()
    return took


def _docker_run_first_line(ref: str, script: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(["docker", "run", "--rm", "-v", f"{script}:/s.py:ro", ref,
                             "python3", "-u", "/s.py"], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    took = time.perf_counter() - start
    proc.wait()
    return took


async def bench_cold_build(project: DockerProject, repeat: int) -> None:
    env = project.env(conda=CONDA, buildCaBundle=CA_BUNDLE)
    deck_times, docker_times, buildkit_times = [], [], []
    with tempfile.TemporaryDirectory() as context:
        Path(context, "ca.pem").write_bytes(Path(CA_BUNDLE).read_bytes())
        Path(context, "Dockerfile").write_text(
            f"FROM {project.base_image}\nCOPY ca.pem /tmp/ca.pem\n"
            "RUN PIP_CERT=/tmp/ca.pem PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install six\n")
        for _ in range(repeat):
            target = project.target(env)
            start = time.perf_counter()
            await target.ensure_image(env, progress=quiet, rebuild=True)
            deck_times.append(time.perf_counter() - start)
            await target.close()
            start = time.perf_counter()
            subprocess.run(["docker", "build", "--no-cache", "-q", "-t", "deck-bench:hand",
                            context], check=True, capture_output=True,
                           env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/bin:/bin:/usr/local/bin"})
            docker_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            subprocess.run(["docker", "build", "--no-cache", "-q", "-t", "deck-bench:hand",
                            context], check=True, capture_output=True,
                           env={"DOCKER_BUILDKIT": "1", "PATH": "/usr/bin:/bin:/usr/local/bin"})
            buildkit_times.append(time.perf_counter() - start)
    subprocess.run(["docker", "rmi", "deck-bench:hand"], capture_output=True)
    report("cold environment build, deck (median)", median(deck_times),
           baseline=median(docker_times))
    report("  docker build --no-cache, hand-written (median)", median(docker_times))
    report("  the same with DOCKER_BUILDKIT=1 (median)", median(buildkit_times))


async def main(repeat: int) -> None:
    subprocess.run(["bash", str(REPO / "scripts/infra/docker.sh")], check=True,
                   capture_output=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "proj"
        (root / "aml_config").mkdir(parents=True)
        project = DockerProject(root=root, base_image="launchdeck-base:bookworm-py311")
        await bench_prepare(project, max(repeat, 5))
        await bench_first_line(project, repeat)
        await bench_cold_build(project, max(3, repeat))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=6)
    asyncio.run(main(parser.parse_args().repeat))
