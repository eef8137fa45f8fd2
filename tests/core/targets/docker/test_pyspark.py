"""``Framework: PySpark`` on a Docker target, against the real engine and a Java base image.

The end-to-end test goes through the `deck` command line: prepare builds an environment image
whose pip list has pyspark (downloaded through the machine's CA bundle, once per machine: the
image is found by its content tag afterwards), then jobs run with spark-submit inside the
container.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import replace

import pytest

from launchdeck.core.errors import TargetError
from launchdeck.core.targets.base import NO_EVENTS, Framework
from tests.fixtures.docker_engine import CA_BUNDLE
from tests.fixtures.projects import run_id_of

pytestmark = pytest.mark.docker

PYSPARK = "pyspark==4.0.1"

COMPUTE = """\
type: docker
baseDockerImage: "{image}"
buildCaBundle: {ca}
"""

RUNCONFIG = """\
# PySpark in a container
ArgumentVector: [$file]
Target: dspark
Framework: PySpark
CondaDependenciesFile: aml_config/dspark_conda.yml
SparkDependenciesFile: aml_config/dspark_spark.yml
EnvironmentVariables: {{GREETING: {greeting}}}
PrepareEnvironment: {prepare}
"""

CONDA = f"""\
dependencies:
  - python=3.11
  - pip:
    - {PYSPARK}
    - inflection==0.5.1
"""

JOB = """\
import os, sys
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf
import deckrun

spark = SparkSession.builder.getOrCreate()
print("master:", spark.sparkContext.master)
print("answer:", spark.conf.get("spark.deck.answer", "unset"))
print("greeting:", os.environ.get("GREETING"))
rows = spark.read.option("header", True).csv("file://" + os.path.abspath(sys.argv[2]))
print("rows:", rows.count())

@udf("string")
def camel(name):
    import inflection, helper  # in a Python worker: the pip package and a snapshot module
    return helper.tag(inflection.camelize(name))

print("udf:", sorted(r[0] for r in rows.select(camel(rows.name)).collect()))
deckrun.log("rows", rows.count())
os.makedirs("outputs", exist_ok=True)
open("outputs/rows.txt", "w").write(str(rows.count()))
spark.stop()
"""

FAIL_JOB = """\
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("about to fail", flush=True)
raise KeyError("no column named price")
"""

SLEEPY_JOB = """\
import time
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("sleeping", spark.sparkContext.applicationId, flush=True)
spark.sparkContext.parallelize(range(1), 1).map(lambda x: time.sleep(600)).count()
"""


def write(project, name, text):
    path = project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def spark_project(project, image, *, prepare="true", greeting="hi"):
    write(project, "aml_config/dspark.compute", COMPUTE.format(image=image, ca=CA_BUNDLE))
    write(project, "aml_config/dspark.runconfig",
          RUNCONFIG.format(prepare=prepare, greeting=greeting))
    write(project, "aml_config/dspark_conda.yml", CONDA)
    write(project, "aml_config/dspark_spark.yml", "configuration:\n  spark.deck.answer: 11\n")


def container_state(run: dict) -> str:
    done = subprocess.run(["docker", "inspect", "-f", "{{.State.Status}}", run["external_id"]],
                          capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "gone"


def test_pyspark_runs_in_the_container_fails_clearly_and_cancels(deck, project,
                                                                 java_base_image):
    spark_project(project, java_base_image)
    prepared = deck("prepare", "-c", "dspark", timeout=1200)
    assert prepared.returncode == 0, prepared.out[-3000:] + prepared.err
    assert "Image: deck-env:" in prepared.out
    again = deck("prepare", "-c", "dspark", check=True)
    assert "nothing to build" in again.out and "(found)" in again.out

    write(project, "job.py", JOB)
    write(project, "helper.py", "def tag(text):\n    return '<' + text + '>'\n")
    write(project, "data.csv", "name\nsome_name\nother_thing\nthird_one\n")
    result = deck("submit", "-c", "dspark", "job.py", "--input", "data.csv", timeout=600)
    assert result.returncode == 0, result.out[-3000:] + result.err
    assert "master: local[*]" in result.out and "answer: 11" in result.out
    assert "greeting: hi" in result.out and "rows: 3" in result.out
    assert "udf: ['<OtherThing>', '<SomeName>', '<ThirdOne>']" in result.out
    run = deck.json("runs", "show", run_id_of(result.out))
    assert run["status"] == "Completed"
    assert run["metrics"]["rows"] == [3] and run["artifacts"] == ["outputs/rows.txt"]

    write(project, "fail.py", FAIL_JOB)
    failed = deck("submit", "-c", "dspark", "fail.py", timeout=600)
    assert failed.returncode != 0
    run = deck.json("runs", "show", run_id_of(failed.out))
    assert run["status"] == "Failed"
    assert run["error"] == "exit code 1: KeyError: 'no column named price'"

    write(project, "sleepy.py", SLEEPY_JOB)
    run_id = run_id_of(deck("submit", "-c", "dspark", "--detach", "sleepy.py", check=True).out)
    deadline = time.monotonic() + 300
    while "sleeping" not in deck("logs", run_id).out and time.monotonic() < deadline:
        time.sleep(1)
    run = deck.json("runs", "show", run_id)
    assert container_state(run) == "running"
    deck("cancel", run_id, timeout=120, check=True)
    run = deck.wait_for(run_id, timeout=60)
    assert run["status"] == "Canceled"
    # Canceled: the container stopped, and may be on its way out already (clean-up).
    assert container_state(run) in ("exited", "removing", "gone")


def test_an_image_with_java_but_no_pyspark_is_refused_before_the_run(deck, project,
                                                                      java_base_image):
    spark_project(project, java_base_image, prepare="false")
    write(project, "aml_config/dspark_conda.yml", "dependencies:\n  - python=3.11\n")
    deck("prepare", "-c", "dspark", timeout=600, check=True)
    write(project, "job.py", "print('never runs')\n")
    result = deck("submit", "-c", "dspark", "job.py", timeout=300)
    assert result.returncode != 0
    run = deck.json("runs", "show", run_id_of(result.out))
    assert run["status"] == "Failed"
    assert "needs the pyspark package in the image" in run["error"]
    assert "add pyspark to the pip list of conda_dependencies.yml" in run["error"]
    assert subprocess.run(["docker", "ps", "-aq", "--filter",
                           f"label=launchdeck.run_id={run['run_id']}"],
                          capture_output=True, text=True).stdout.strip() == ""


async def test_an_image_without_java_says_what_the_image_lacks(docker_project):
    docker_project.write("job.py", "print('never runs')\n")
    env = replace(docker_project.env(conda=None), framework=Framework.PYSPARK)
    target = docker_project.target(env)
    try:
        spec = docker_project.run_spec(env, "run-spark", "job.py")
        with pytest.raises(TargetError, match="needs Java in the image.*no `java` command"):
            await target.launch(spec, NO_EVENTS)
    finally:
        await target.close()
