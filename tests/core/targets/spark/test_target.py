"""The Spark cluster target against a real standalone cluster behind the real sshd.

Spark applications are slow to start (executor JVMs), so each cluster test proves several
things with one application; scripts that need no SparkContext (link cut, failure) are cheap.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from launchdeck.core.targets.base import NO_EVENTS, EnvironmentSpec, Framework, RunSpec
from launchdeck.core.targets.spark.submit import SubmitCommand, deploy_mode, find_app_id, mode_note
from tests.fixtures.waiting import until_async
from tests.fixtures.events import RecordedEvents

# -- the command line (no cluster) -----------------------------------------------------------


def test_command_line_order_and_dependencies(tmp_path):
    from launchdeck.core.config.spark import load_spark

    deps = tmp_path / "spark_dependencies.yml"
    deps.write_text("configuration:\n  spark.executor.memory: 512m\n"
                    "repositories: ['file:///repo', 'https://m.example/r']\n"
                    "packages:\n  - group: g\n    artifact: a\n    version: 1.0\n")
    argv = SubmitCommand(spark_submit="/s/spark-submit", script="job.py", arguments=("x", "y"),
                         master="spark://h:7077", py_files=("/r/modules.zip",),
                         archives=("/e.tar.gz#environment",),
                         conf={"spark.pyspark.python": "./environment/bin/python"},
                         dependencies=load_spark(deps)).argv()
    assert argv == ["/s/spark-submit", "--master", "spark://h:7077",
                    "--py-files", "/r/modules.zip", "--archives", "/e.tar.gz#environment",
                    "--conf", "spark.pyspark.python=./environment/bin/python",
                    "--conf", "spark.executor.memory=512m",
                    "--repositories", "file:///repo,https://m.example/r",
                    "--packages", "g:a:1.0", "job.py", "x", "y"]


def test_private_settings_go_in_a_properties_file_never_on_the_command_line(tmp_path):
    from launchdeck.core.targets.spark.submit import WITH_SPARK_HOME_SH, properties_text

    command = SubmitCommand(spark_submit="s", script="j.py", master="yarn",
                            deploy_mode="cluster", conf={"spark.a": "1"},
                            private_conf={"spark.yarn.appMasterEnv.TOKEN": "t0k"})
    assert "t0k" not in " ".join(command.argv()) and "spark.a=1" in command.argv()
    assert properties_text({"a b:c": " lead\\back\nline", "k": "x = y # z"}) == \
        "a\\ b\\:c=\\ lead\\\\back\\nline\nk=x = y # z\n"
    # The head node's shell: its SPARK_CONF_DIR's defaults, then the private settings.
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "spark-defaults.conf").write_text("spark.master yarn")  # no newline
    (tmp_path / "secrets").mkdir(mode=0o700)
    (tmp_path / "secrets" / "spark.private").write_text(properties_text(command.private_conf))
    fake = tmp_path / "spark-submit"
    fake.write_text('#!/bin/sh\necho "args: $*"\ncat "$2"\nstat -c %a "$2"\n')
    fake.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "SPARK_HOME": str(tmp_path),
           "SPARK_CONF_DIR": str(tmp_path / "conf"),
           "DECK_SPARK_PRIVATE": str(tmp_path / "secrets" / "spark.private")}
    out = subprocess.run(["sh", "-c", WITH_SPARK_HOME_SH, "sh", str(fake), *command.argv()[1:]],
                         env=env, capture_output=True, text=True, timeout=60).stdout
    props = tmp_path / "secrets" / "spark.properties"
    assert out == (f"args: --properties-file {props} --master yarn --deploy-mode cluster "
                   "--conf spark.a=1 j.py\n"
                   "spark.master yarn\nspark.yarn.appMasterEnv.TOKEN=t0k\n600\n")


def test_deploy_mode_keeps_yarn_meaning_and_is_client_on_standalone():
    assert deploy_mode("yarn", "cluster") == "cluster"
    assert deploy_mode("yarn", None) == "client"
    assert deploy_mode("spark://h:7077", "cluster") == "client"
    assert "client mode" in mode_note("spark://h:7077", "cluster")
    assert mode_note("yarn", "cluster") is None
    argv = SubmitCommand(spark_submit="s", script="j.py", master="yarn",
                         deploy_mode="cluster").argv()
    assert argv[:5] == ["s", "--master", "yarn", "--deploy-mode", "cluster"]


def test_application_ids_are_found_in_driver_output():
    log = b"INFO Connected to Spark cluster with app ID app-20261128010548-0001\n"
    assert find_app_id(log) == "app-20261128010548-0001"
    assert find_app_id(b"Submitted application application_1700000000000_0042") == \
        "application_1700000000000_0042"
    assert find_app_id(b"nothing here") is None


def test_conda_packages_are_installed_with_pip_and_pip_lists_hash_by_content(tmp_path):
    from launchdeck.core.config.conda import load_conda
    from launchdeck.core.targets.spark.env import executor_environment

    conda = tmp_path / "conda.yml"
    conda.write_text("dependencies:\n  - python=3.11\n  - numpy\n  - pip:\n    - six\n")
    assert executor_environment(load_conda(conda), python="python3").packages == ("numpy", "six")
    conda.write_text("dependencies:\n  - python=3.11\n  - pip:\n    - six\n")
    first = executor_environment(load_conda(conda), python="python3")
    conda.write_text("# a comment\ndependencies:\n  - python=3.11\n  - pip:\n    - six\n")
    assert executor_environment(load_conda(conda), python="python3") == first
    conda.write_text("dependencies:\n  - pip:\n    - six==1.16.0\n")
    assert executor_environment(load_conda(conda), python="python3").hash != first.hash
    assert executor_environment(load_conda(conda), python="python3", user_managed=True) is None


# -- a project on the real cluster -----------------------------------------------------------

PIP_PACKAGE = "inflection==0.5.1"  # tiny, pure Python, not installed on the machine


class SparkProject:
    """A project folder with a ``spark1`` cluster target, its store and an SSH pool."""

    def __init__(self, root: Path, ssh_server, cluster, known_hosts: Path) -> None:
        from launchdeck.core.remote.connection import SSHPool
        from launchdeck.core.snapshot.store import ContentStore

        self.root = root
        (root / "aml_config").mkdir(parents=True)
        (root / "aml_config" / "spark1.compute").write_text(textwrap.dedent(f"""\
            type: cluster
            address: {ssh_server.host}
            port: {ssh_server.port}
            username: {ssh_server.user}
            identityFile: {ssh_server.client_key}
            sparkMaster: {cluster.master}
            sparkSubmitLocation: {cluster.spark_submit}
            """))
        ssh_server.write_known_hosts(known_hosts)
        self.pool = SSHPool(known_hosts=known_hosts)
        self.store = ContentStore(root.parent / "store")

    def write(self, name: str, text: str) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def env(self, *, conda: str | None = None, spark: str | None = None) -> EnvironmentSpec:
        from launchdeck.core.config.compute import load_compute
        from launchdeck.core.config.conda import load_conda
        from launchdeck.core.config.spark import load_spark

        config = self.root / "aml_config"
        if conda is not None:
            (config / "conda_dependencies.yml").write_text(conda)
        if spark is not None:
            (config / "spark_dependencies.yml").write_text(spark)
        return EnvironmentSpec(
            project_dir=self.root, compute=load_compute(config / "spark1.compute"),
            conda=load_conda(config / "conda_dependencies.yml") if conda else None,
            spark=load_spark(config / "spark_dependencies.yml") if spark else None,
            framework=Framework.PYSPARK, runconfig="spark1")

    def target(self, env: EnvironmentSpec):
        from launchdeck.core.targets.spark.target import SparkTarget

        return SparkTarget(env.compute, project_dir=self.root, pool=self.pool)

    def run_spec(self, env: EnvironmentSpec, script: str, *args: str,
                 environment: dict | None = None) -> RunSpec:
        run_id = f"spark-test-{uuid.uuid4().hex[:8]}"
        snap = self.store.snapshot(self.root)
        return RunSpec(run_id=run_id, run_dir=self.root.parent / "runs" / run_id,
                       store=self.store, snapshot=snap.fingerprint, script=script,
                       arguments=args, environment=environment or {}, env=env)


@pytest.fixture
async def spark_project(tmp_path, ssh_server, spark_cluster, known_hosts_file):
    project = SparkProject(tmp_path / "project", ssh_server, spark_cluster, known_hosts_file)
    yield project
    await project.pool.close()


async def collect(stream) -> bytes:
    return b"".join([chunk async for chunk in stream])


def maven_repository(folder: Path, version: str) -> str:
    """A Maven repository on disk holding deck:hello:VERSION, a jar built here with javac."""
    src = folder / "src" / "deck"
    src.mkdir(parents=True)
    (src / "Hello.java").write_text(
        'package deck;\npublic class Hello {\n'
        '  public static String greet() { return "hello from a maven jar"; }\n}\n')
    classes = folder / "classes"
    subprocess.run(["javac", "-d", str(classes), str(src / "Hello.java")], check=True)
    artifact = folder / "repo" / "deck" / "hello" / version
    artifact.mkdir(parents=True)
    subprocess.run(["jar", "cf", str(artifact / f"hello-{version}.jar"), "-C", str(classes),
                    "."], check=True)
    (artifact / f"hello-{version}.pom").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<project '
        'xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        f'<groupId>deck</groupId><artifactId>hello</artifactId><version>{version}</version>'
        '<packaging>jar</packaging></project>\n')
    return f"file://{folder / 'repo'}"



@pytest.mark.spark
async def test_check_reports_facts_and_says_what_is_wrong(spark_project, spark_cluster):
    from dataclasses import replace

    from launchdeck.core.errors import TargetError

    env = spark_project.env()
    facts = await spark_project.target(env).check()
    assert facts["spark_version"][0].isdigit() and facts["master_reachable"] == "yes"
    assert facts["python"].startswith("3.") and facts["deploy_mode"] == "client"
    wrong = replace(env, compute=replace(env.compute, spark_submit_location="/nowhere/spark"))
    with pytest.raises(TargetError, match="spark-submit does not run.*sparkSubmitLocation"):
        await spark_project.target(wrong).check()
    wrong = replace(env, compute=replace(env.compute, spark_master="spark://127.0.0.1:9"))
    with pytest.raises(TargetError, match="cannot reach the Spark master spark://127.0.0.1:9"):
        await spark_project.target(wrong).check()

WRAPPER = Path(sys.prefix) / "bin" / "spark-submit"  # pip's wrapper of the shared venv


@pytest.mark.spark
async def test_check_names_why_spark_submit_cannot_run_on_the_head_node(
        spark_project, ssh_server, remote_scratch):
    from dataclasses import replace

    from launchdeck.core.errors import TargetError

    env = spark_project.env()

    def at(location) -> object:
        return spark_project.target(
            replace(env, compute=replace(env.compute, spark_submit_location=str(location))))

    # pip's wrapper: the head node's python3 has no pyspark, deck finds Spark for it.
    facts = await at(WRAPPER).check()
    assert facts["spark_version"][0].isdigit()
    assert facts["spark_home"].startswith(str(WRAPPER.parent.parent / "lib"))
    scratch = ssh_server.home / remote_scratch
    lonely = scratch / "venv" / "bin"
    lonely.mkdir(parents=True)
    for name in ("spark-submit", "find-spark-home", "find_spark_home.py"):
        shutil.copy(WRAPPER.parent / name, lonely / name)
    plain = scratch / "plain-spark-submit"
    shutil.copy(WRAPPER, plain)
    plain.chmod(0o644)
    subprocess.run(["chmod", "-R", "a+rX", str(ssh_server.home / ".launchdeck-test")])
    with pytest.raises(TargetError, match="no pyspark package was found.*set SPARK_HOME"):
        await at(f"~/{remote_scratch}/venv/bin/spark-submit").check()  # ~: deckuser's home
    with pytest.raises(TargetError, match="is not executable"):
        await at(plain).check()
    with pytest.raises(TargetError, match="/nowhere/spark does not exist there"):
        await at("/nowhere/spark").check()


def test_the_check_script_names_a_java_home_without_java(tmp_path):
    """The head node's check script, run here with a JAVA_HOME that holds no Java."""
    from launchdeck.core.targets.spark.target import _CHECK

    env = {k: v for k, v in os.environ.items() if k != "SPARK_HOME"}
    env.update(JAVA_HOME=str(tmp_path / "no-jdk"), PATH="/usr/local/bin:/usr/bin:/bin")
    out = subprocess.run(["sh", "-c", _CHECK, "sh", str(WRAPPER), ""], env=env,
                         capture_output=True, text=True, timeout=120).stdout
    assert f"problem=bad_java_home={tmp_path / 'no-jdk'}" in out
    assert "spark_home=" in out  # found for the wrapper all the same


ROWS_JOB = """\
import sys
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf
import helper
import deckrun

spark = SparkSession.builder.getOrCreate()
print("FIRST", flush=True)
df = spark.read.option("header", True).csv("file://" + __import__("os").path.abspath(sys.argv[2]))
print("rows:", df.count())
print("conf:", spark.conf.get("spark.deck.answer"))

@udf("string")
def camel(name):
    import inflection, helper  # on the executor: the pip package and a snapshot module
    return helper.tag(inflection.camelize(name))

print("udf:", sorted(r[0] for r in df.select(camel(df.name)).collect()))
print("jar:", spark.sparkContext._jvm.deck.Hello.greet())
deckrun.log("rows", df.count())
import os
os.makedirs("outputs", exist_ok=True)
open("outputs/result.txt", "w").write("done\\n")
spark.stop()
"""


@pytest.mark.spark
async def test_a_job_counts_rows_with_pip_dependency_conf_and_package(
        spark_project, ssh_server, spark_cluster, remote_scratch, tmp_path):
    repo_dir = ssh_server.home / remote_scratch
    version = f"1.0.{uuid.uuid4().hex[:6]}"  # never in deckuser's Ivy cache
    repository = maven_repository(repo_dir, version)
    subprocess.run(["chmod", "-R", "a+rX", str(ssh_server.home / ".launchdeck-test")])
    spark_project.write("job.py", ROWS_JOB)
    spark_project.write("helper.py", "def tag(text):\n    return '<' + text + '>'\n")
    spark_project.write("data.csv", "name\nsome_name\nother_thing\nthird_one\n")
    env = spark_project.env(
        conda=f"dependencies:\n  - python=3.11\n  - pip:\n    - {PIP_PACKAGE}\n",
        spark=("configuration:\n  spark.deck.answer: 42\n"
               f"repositories:\n  - {repository}\n"
               f"packages:\n  - group: deck\n    artifact: hello\n    version: {version}\n"))
    target = spark_project.target(env)
    lines: list[str] = []
    env_id = await target.prepare(env, progress=lines.append)
    assert env_id and len(env_id) == 24
    again: list[str] = []
    assert await target.prepare(env, progress=again.append) == env_id
    assert "nothing to build" in again[-1]
    assert not any("pip" in line or "install" in line.lower() for line in again[:-1]), again

    spec = spark_project.run_spec(env, "job.py", "--input", "data.csv")
    events = RecordedEvents()
    execution = await target.launch(spec, events)
    assert execution.external_id.startswith("spark-submit pid ")  # no wait for the app id
    found = events.external_ids
    output, metrics, code = await asyncio.gather(
        collect(execution.logs(0)), collect(execution.metrics(0)), execution.wait())
    text = output.decode()
    assert code == 0, text[-3000:]
    assert found == [execution.external_id] and execution.external_id.startswith("app-")
    assert "rows: 3" in text and "conf: 42" in text
    assert "udf: ['<OtherThing>', '<SomeName>', '<ThirdOne>']" in text
    assert "jar: hello from a maven jar" in text
    assert execution.app_id in text
    assert b'"name": "rows"' in metrics and b'"value": 3' in metrics
    await execution.collect_outputs(tmp_path / "outputs")
    assert (tmp_path / "outputs" / "result.txt").read_text() == "done\n"
    await execution.release()
    assert not (ssh_server.home / ".launchdeck/spark/runs" / spec.run_id).exists()


# A spark-submit on the head node that notes what it was given and what the process list
# shows of it, then says what YARN's client says in cluster mode and ends.
NOTING_SPARK_SUBMIT = """\
#!/bin/sh
seen=$(dirname "$0")/../seen
mkdir -p "$seen"
tr '\\0' ' ' < /proc/$$/cmdline > "$seen/cmdline"
while [ $# -gt 0 ]; do
  if [ "$1" = --properties-file ]; then cp "$2" "$seen/properties"; stat -c %a "$2" > "$seen/mode"; fi
  shift
done
echo "Submitted application application_1700000000000_0042"
"""


@pytest.mark.spark
async def test_yarn_cluster_mode_gives_the_driver_its_variables_on_no_command_line(
        spark_project, ssh_server, remote_scratch):
    """#11.6: in YARN cluster mode the run's variables (secrets among them) reach the driver
    through spark.yarn.appMasterEnv.* in a 0600 properties file that keeps the head node's
    spark-defaults.conf and is gone once the run has ended; never through a --conf anyone
    can read in ps."""
    from dataclasses import replace

    spark_home = ssh_server.home / remote_scratch / "spark"
    (spark_home / "bin").mkdir(parents=True)
    (spark_home / "conf").mkdir()
    (spark_home / "conf" / "spark-defaults.conf").write_text("spark.executor.memory 3g\n")
    fake = spark_home / "bin" / "spark-submit"
    fake.write_text(NOTING_SPARK_SUBMIT)
    fake.chmod(0o755)
    subprocess.run(["chown", "-R", f"{ssh_server.user}:", str(ssh_server.home / remote_scratch)],
                   check=True)
    env = spark_project.env()
    env = replace(env, compute=replace(env.compute, spark_master="yarn",
                                       yarn_deploy_mode="cluster",
                                       spark_submit_location=f"~/{remote_scratch}/spark/bin/"
                                                             "spark-submit"))
    spark_project.write("job.py", "print('never run here')\n")
    secret = "pa ss=wörd#" + uuid.uuid4().hex
    spec = spark_project.run_spec(env, "job.py", environment={"DB_PASSWORD": secret})
    execution = await spark_project.target(env).launch(spec, NO_EVENTS)
    output, code = await asyncio.gather(collect(execution.logs(0)), execution.wait())
    assert code == 0, output.decode()[-2000:]
    seen = spark_home / "seen"
    cmdline = (seen / "cmdline").read_text()
    assert "--master yarn --deploy-mode cluster" in cmdline and "--properties-file" in cmdline
    assert secret not in cmdline and "DB_PASSWORD" not in cmdline
    properties = (seen / "properties").read_text(encoding="utf-8")
    assert properties.startswith("spark.executor.memory 3g\n")  # the head node's defaults
    # Inside a value, spaces, "=" and "#" need no escape in Java's properties format.
    assert f"spark.yarn.appMasterEnv.DB_PASSWORD={secret}\n" in properties
    assert (seen / "mode").read_text().strip() == "600"
    root = ssh_server.home / ".launchdeck/spark/runs" / spec.run_id
    assert root.is_dir() and not (root / "secrets").exists()
    left = subprocess.run(["grep", "-rl", secret, str(root)], capture_output=True, text=True)
    assert left.stdout == ""  # in no file of the run's folder on the head node
    await execution.release()


CANCEL_JOB = """\
import time
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("started", spark.sparkContext.applicationId, flush=True)
spark.sparkContext.parallelize(range(2), 2).map(lambda x: time.sleep(600)).count()
"""


@pytest.mark.spark
async def test_cancel_stops_the_application_on_the_master(spark_project, spark_cluster,
                                                          ssh_server):
    """The link drops right after launch: the output and the application id are still found."""
    spark_project.write("job.py", CANCEL_JOB)
    env = spark_project.env()
    target = spark_project.target(env)
    spec = spark_project.run_spec(env, "job.py")
    execution = await target.launch(spec, NO_EVENTS)
    try:
        launched_as = execution.external_id
        conn = await spark_project.pool.connection(target.host.endpoint)
        os.killpg(ssh_server.session_of(conn.get_extra_info("sockname")[1]), 9)
        seen = b""
        async for chunk in execution.logs(0):
            seen += chunk
            if b"started app-" in seen:  # Spark itself logs "Successfully started service"
                break
        app_id = execution.app_id
        assert app_id and app_id.startswith("app-") and execution.external_id == app_id
        assert app_id in spark_cluster.running_app_ids()
        # A keeper that died before it saw the id attaches with the pid form and finds it.
        assert (await target.attach(spec, launched_as, NO_EVENTS)).app_id == app_id
    finally:  # the cluster has one core: a job left sleeping would starve every later test
        await execution.cancel(grace_seconds=5)
    assert await execution.wait() != 0
    await until_async(lambda: app_id not in spark_cluster.running_app_ids(), timeout=300,
                      what=f"{app_id} gone from the cluster")
    await execution.release()


COUNTER = """\
import sys, time, deckrun
for i in range(int(sys.argv[1])):
    print("line %04d" % i, flush=True)
    deckrun.log("i", i)
    time.sleep(0.02)
raise ValueError("the job gave up")
"""


@pytest.mark.spark
async def test_a_dropped_link_loses_and_repeats_no_line(spark_project, ssh_server):
    """No SparkContext: spark-submit runs the script as the driver, which is quick."""
    spark_project.write("counter.py", COUNTER)
    env = spark_project.env()
    target = spark_project.target(env)
    events = RecordedEvents()
    execution = await target.launch(spark_project.run_spec(env, "counter.py", "300"), events)
    states = events.link_states
    got = b""
    cut = False
    async for chunk in execution.logs(0):
        got += chunk
        if not cut and b"line 0050" in got:
            cut = True
            conn = await spark_project.pool.connection(target.host.endpoint)
            client_port = conn.get_extra_info("sockname")[1]
            os.killpg(ssh_server.session_of(client_port), 9)
    assert cut
    code = await execution.wait()
    lines = [ln for ln in got.decode().splitlines() if ln.startswith("line ")]
    assert lines == [f"line {i:04d}" for i in range(300)]
    assert code == 1 and "ValueError: the job gave up" in got.decode()
    assert states and states[0] is not None and states[-1] is None
    metrics = await collect(execution.metrics(0))
    assert metrics.count(b'"name": "i"') == 300
    await execution.release()
