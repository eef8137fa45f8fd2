"""The executors' environment on the real head node (the test sshd): conda entries via pip."""

from __future__ import annotations

import subprocess

import pytest

from launchdeck.core.errors import EnvironmentBuildError
from tests.core.targets.spark.test_target import SparkProject

WORKBENCH_CONDA = """\
name: project_environment
dependencies:
  # The python interpreter version.
  - python=3.5.2
  - inflection=0.5.1
  - pip
  - pip:
    - six
"""


@pytest.fixture
async def spark_project(tmp_path, ssh_server, spark_cluster, known_hosts_file):
    project = SparkProject(tmp_path / "project", ssh_server, spark_cluster, known_hosts_file)
    yield project
    await project.pool.close()


def remove_env(ssh_server, env_hash: str) -> None:
    subprocess.run(["rm", "-rf", str(ssh_server.home / ".launchdeck/envs" / env_hash),
                    str(ssh_server.home / ".launchdeck/envs" / f"{env_hash}.tar.gz")])


@pytest.mark.spark
async def test_a_workbench_conda_file_builds_with_pip_on_the_head_node(spark_project,
                                                                       ssh_server):
    env = spark_project.env(conda=WORKBENCH_CONDA)
    target = spark_project.target(env)
    wanted = target.executor_environment(env)
    assert wanted is not None and wanted.packages == ("inflection==0.5.1", "six")
    remove_env(ssh_server, wanted.hash)
    lines: list[str] = []
    try:
        assert await target.prepare(env, progress=lines.append) == wanted.hash
    finally:
        await target.close()
    log = "\n".join(lines)
    assert "conda_dependencies.yml:5: conda inflection=0.5.1 -> pip inflection==0.5.1" in log
    assert "warning: " in log and "python=3.5.2 asks for Python 3.5.2" in log
    assert "the head node's python3 has Python 3." in log
    python = ssh_server.home / ".launchdeck/envs" / wanted.hash / "bin/python"
    check = subprocess.run([str(python), "-c", "import inflection, six; "
                            "print(inflection.__version__)"], capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.strip() == "0.5.1", check.stderr


@pytest.mark.spark
async def test_a_conda_name_pip_cannot_find_names_the_line(spark_project, ssh_server):
    env = spark_project.env(conda="dependencies:\n  - python=3\n  - toolz\n"
                                  "  - deck-no-such-conda-package-7c2e=1.0\n")
    target = spark_project.target(env)
    wanted = target.executor_environment(env)
    remove_env(ssh_server, wanted.hash)
    try:
        with pytest.raises(EnvironmentBuildError) as err:
            await target.prepare(env, progress=lambda _: None)
    finally:
        await target.close()
    assert "pip cannot find" in str(err.value)
    assert "conda_dependencies.yml:4: deck-no-such-conda-package-7c2e=1.0 (a conda package, " \
        "installed with pip as deck-no-such-conda-package-7c2e==1.0.*)" in str(err.value)
