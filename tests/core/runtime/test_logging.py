"""Workbench's logging API (core/runtime/azureml/logging, deckrun) in real runs."""

import pytest

from tests.fixtures.projects import run_id_of

SCRIPT = """\
import pathlib
from azureml.logging import get_azureml_logger

logger = get_azureml_logger()
# the reference's own calls, unchanged
logger.log("simple integer value", 7)
logger.log("simple float value", 3.141592)
logger.log("simple string value", "this is a string metric")
logger.log("chart data points", [1, 3, 5, 10, 6, 4])
logger.log("my metric 1", 1).wait()
logger.log("my metric 2", 2).wait()
logger.log("converged", True)
logger.upload("artifact/path", "This should be the contents of artifact/path")
pathlib.Path("made.bin").write_bytes(bytes(range(5)))
logger.upload("copied/made.bin", "made.bin").wait()
logger.upload("raw.bin", b"\\x00\\x01")
print("logged")
"""


def submit(deck, runconfig, script, *flags, timeout=120):
    result = deck("submit", "-c", runconfig, *flags, script, timeout=timeout)
    return result, deck.json("runs", "show", run_id_of(result.out))


def check_everything_is_recorded(deck, result, run):
    assert result.returncode == 0, result.out + result.err
    assert run["status"] == "Completed"
    metrics = run["metrics"]
    assert metrics["simple integer value"] == [7]
    assert metrics["simple float value"] == [3.141592]
    assert metrics["simple string value"] == ["this is a string metric"]
    assert metrics["chart data points"] == [[1, 3, 5, 10, 6, 4]]
    assert metrics["my metric 1"] == [1] and metrics["my metric 2"] == [2]
    assert metrics["converged"] == [True]
    assert {"outputs/artifact/path", "outputs/copied/made.bin", "outputs/raw.bin"} <= \
        set(run["artifacts"])
    kept = deck.project / ".deck" / "runs" / run["run_id"] / "outputs"
    assert (kept / "artifact/path").read_text() == \
        "This should be the contents of artifact/path"
    assert (kept / "copied/made.bin").read_bytes() == bytes(range(5))
    assert (kept / "raw.bin").read_bytes() == b"\x00\x01"


def test_the_documented_logging_api_on_local(deck, project):
    (project / "api.py").write_text(SCRIPT)
    result, run = submit(deck, "local", "api.py")
    check_everything_is_recorded(deck, result, run)


@pytest.mark.docker
def test_the_documented_logging_api_in_docker(deck, project, docker_engine):
    (project / "api.py").write_text(SCRIPT)
    # an environment with nothing to install: the base image as it is (no package index)
    (project / "bare.yml").write_text("dependencies:\n  - python=3.11\n")
    result, run = submit(deck, "docker", "api.py", "-d", "bare.yml", timeout=900)
    check_everything_is_recorded(deck, result, run)


def test_an_unknown_call_names_deck_and_the_call(deck, project):
    (project / "row.py").write_text(
        "from azureml.logging import get_azureml_logger\n"
        "get_azureml_logger().log_row('Y over X', x=1, y=0.4)\n")
    result, run = submit(deck, "local", "row.py")
    assert run["status"] == "Failed"
    assert "deck: logger.log_row is not supported by deck's azureml.logging" in result.out
    (project / "other.py").write_text("from azureml.logging import log_table\n")
    result, run = submit(deck, "local", "other.py")
    assert "deck: azureml.logging.log_table is not supported" in result.out
    (project / "prep.py").write_text("from azureml.dataprep import package\n")
    result, run = submit(deck, "local", "prep.py")
    assert "deck: azureml.dataprep is a Workbench/Azure ML module that deck does not provide" \
        in result.out


def test_upload_refuses_a_name_outside_outputs(deck, project):
    (project / "escape.py").write_text(
        "import deckrun\ndeckrun.upload('../../history.db', 'x')\n")
    result, run = submit(deck, "local", "escape.py")
    assert run["status"] == "Failed"
    assert "is not a relative artifact name" in result.out
