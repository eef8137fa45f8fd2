"""The Spark cluster target against plain spark-submit over ssh, on the real test cluster.

1. Submit to first driver output line: ``deck submit -c spark1 first.py`` (CLI, keeper, sync,
   detached launch, log tail) until the script's first line shows, against
   ``ssh HEAD spark-submit --master ... first.py`` (the script already on the head node) until
   the same line shows. Same job, same cluster, alternating order; goal <= 1.15x.
2. A second ``deck prepare -c spark1`` with an unchanged environment (one pip package): nothing
   is rebuilt; in-process and through the CLI; goal <= 0.5 s.

Needs root (it runs scripts/infra/sshd.sh and spark.sh). Prints medians and ratios; asserts
nothing about time. Run: python bench/bench_spark.py [--repeat N] [--only submit|prepare]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import REPO, compile_sources, copy_sample_project, deck_command, median, \
    report, source_env  # noqa: E402

FIRST = """\
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("FIRST driver line", flush=True)
spark.stop()
"""
CONDA = "dependencies:\n  - python=3.11\n  - pip:\n    - inflection==0.5.1\n"


def facts(script: str) -> dict[str, str]:
    out = subprocess.run(["bash", str(REPO / "scripts" / "infra" / script)], check=True,
                         capture_output=True, text=True, env=dict(os.environ,
                                                                  DECK_SPARK_PYTHON=sys.executable)
                         ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def until_line(argv: list[str], needle: str, *, cwd=None, env=None) -> float:
    """Seconds from start until ``needle`` shows on stdout; then let the command finish."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    seen = None
    for line in proc.stdout:
        if seen is None and needle in line:
            seen = time.perf_counter() - start
    proc.wait()
    if seen is None:
        raise SystemExit(f"{argv[0]}: {needle!r} never showed (exit {proc.returncode})")
    return seen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=("submit", "prepare"),
                        help="run one of the two benchmarks")
    args = parser.parse_args()
    ssh, spark = facts("sshd.sh"), facts("spark.sh")
    compile_sources()  # start-up as an installed deck has it
    work = Path(tempfile.mkdtemp(prefix="bench-spark-"))
    try:
        run(args, ssh, spark, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args, ssh: dict[str, str], spark: dict[str, str], work: Path) -> None:
    home = work / "home"
    (home / ".ssh").mkdir(parents=True)
    pub = Path(ssh["DECK_SSHD_HOST_PUBKEY"]).read_text().split()[:2]
    (home / ".ssh" / "known_hosts").write_text(
        f"[{ssh['DECK_SSHD_HOST']}]:{ssh['DECK_SSHD_PORT']} {pub[0]} {pub[1]}\n")
    project = copy_sample_project(work / "project")
    (project / "first.py").write_text(FIRST)
    (project / "aml_config" / "conda_dependencies.yml").write_text(CONDA)
    env = dict(source_env(), HOME=str(home))
    deck = deck_command()
    subprocess.run([*deck, "target", "attach", "cluster", "--name", "spark1",
                    "--address", ssh["DECK_SSHD_HOST"], "--port", ssh["DECK_SSHD_PORT"],
                    "--username", ssh["DECK_SSHD_USER"],
                    "--identity-file", ssh["DECK_SSHD_CLIENT_KEY"],
                    "--master", spark["DECK_SPARK_MASTER"],
                    "--spark-submit", spark["DECK_SPARK_SUBMIT"]],
                   cwd=project, env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*deck, "prepare", "-c", "spark1"], cwd=project, env=env, check=True,
                   stdout=subprocess.DEVNULL)

    if args.only != "prepare":
        bench_submit(args, ssh, spark, home, project, env, deck)
    if args.only != "submit":
        asyncio.run(bench_prepare(project, home, args.repeat))
        bench_prepare_cli(args, project, env, deck)


def bench_submit(args, ssh, spark, home: Path, project: Path, env, deck) -> None:
    ssh_argv = ["ssh", "-p", ssh["DECK_SSHD_PORT"], "-i", ssh["DECK_SSHD_CLIENT_KEY"],
                "-o", f"UserKnownHostsFile={home / '.ssh' / 'known_hosts'}",
                "-o", "BatchMode=yes", f"{ssh['DECK_SSHD_USER']}@{ssh['DECK_SSHD_HOST']}"]
    remote = ".launchdeck-bench/first.py"
    subprocess.run([*ssh_argv, f"mkdir -p .launchdeck-bench && cat > {remote}"],
                   input=FIRST.encode(), check=True)
    plain = [*ssh_argv, f"{spark['DECK_SPARK_SUBMIT']} --master {spark['DECK_SPARK_MASTER']} "
                        f"{remote}"]
    deck_times, plain_times = [], []
    for i in range(args.repeat):
        runs = [("deck", lambda: until_line([*deck, "submit", "-c", "spark1", "first.py"],
                                            "FIRST driver line", cwd=project, env=env)),
                ("plain", lambda: until_line(plain, "FIRST driver line"))]
        for name, measure in (runs if i % 2 == 0 else runs[::-1]):
            (deck_times if name == "deck" else plain_times).append(measure())
    report("submit to first driver line: deck submit (median)", median(deck_times),
           baseline=median(plain_times), goal="<= 1.15x")
    report("submit to first driver line: ssh spark-submit (median)", median(plain_times))


def bench_prepare_cli(args, project: Path, env, deck) -> None:
    cli = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        out = subprocess.run([*deck, "prepare", "-c", "spark1"], cwd=project, env=env,
                             check=True, capture_output=True, text=True).stdout
        cli.append(time.perf_counter() - start)
        assert "nothing to build" in out, out
    report("deck prepare, unchanged environment (CLI, median)", median(cli), goal="<= 0.5 s")


async def bench_prepare(project: Path, home: Path, repeat: int) -> None:
    from launchdeck.core.project import Project
    from launchdeck.core.remote.connection import SSHPool
    from launchdeck.core.runs.runspec import live_resolver, load_configs
    from launchdeck.core.targets.spark.target import SparkTarget

    p = Project(project)
    configs = load_configs(p, runconfig_path=p.runconfig_path("spark1"),
                           compute_path=p.compute_path("spark1"), resolve=live_resolver(p))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        pool = SSHPool(known_hosts=home / ".ssh" / "known_hosts")  # a new connection each time
        target = SparkTarget(configs.compute, project_dir=project, pool=pool)
        await target.prepare(configs.env, progress=lambda _: None)
        await pool.close()
        times.append(time.perf_counter() - start)
    report("prepare, unchanged environment (in-process, new SSH link)", median(times),
           goal="<= 0.5 s")


if __name__ == "__main__":
    main()
