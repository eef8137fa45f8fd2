"""The cause Spark printed, read from the last lines of a failed run's log.

The real failures (an unresolved package, a JVM that does not start, a Python exception) are
run on the real cluster in test_spark_cli.py; these lines are what spark-submit printed there.
"""

from launchdeck.core.targets.spark.failure import spark_cause

IVY = """\
\t\t::::::::::::::::::::::::::::::::::::::::::::::
\t\t::          UNRESOLVED DEPENDENCIES         ::
\t\t:: deck#missing;1.0: not found
\t\t:: deck#other;2.1: not found
:: USE VERBOSE OR DEBUG MESSAGE LEVEL FOR MORE DETAILS
Exception in thread "main" java.lang.RuntimeException: [unresolved dependency: deck#missing;1.0: \
not found, unresolved dependency: deck#other;2.1: not found]
\tat org.apache.spark.util.MavenUtils$.resolveMavenCoordinates(MavenUtils.scala:539)
\tat org.apache.spark.deploy.SparkSubmit.main(SparkSubmit.scala)
"""


def test_every_unresolved_dependency_is_named_once():
    assert spark_cause(IVY.splitlines()) == (
        "unresolved dependency: deck#missing;1.0: not found, deck#other;2.1: not found "
        "(check packages and repositories in spark_dependencies.yml)")


def test_a_java_exception_and_a_jvm_that_did_not_start():
    lines = ['Exception in thread "main" java.io.FileNotFoundException: /x.zip (No such file)',
             "\tat java.base/java.io.FileInputStream.open0(Native Method)",
             "26/11/30 09:00:35 INFO ShutdownHookManager: Shutdown hook called"]
    assert spark_cause(lines) == "java.io.FileNotFoundException: /x.zip (No such file)"
    lines = ["Invalid maximum heap size: -Xmxlots",
             "Error: Could not create the Java Virtual Machine.",
             "Error: A fatal exception has occurred. Program will exit."]
    assert spark_cause(lines) == "Java did not start: Invalid maximum heap size: -Xmxlots"
    assert spark_cause(["all fine", "exit"]) is None
