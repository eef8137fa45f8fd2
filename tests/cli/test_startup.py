"""What quick commands load: `deck --version` and a local `deck submit` stay light.

A behaviour test, not a timing one: the submit path on a local target must not import the
libraries of other targets or faces (SSH, Docker, the dashboard), nor an event loop to copy a
log to stdout, nor the YAML parser when the run's config files did not change since the last
submit. Speed itself is measured by bench/bench_submit.py.
"""

import subprocess
import sys
from importlib import metadata

import pytest


HEAVY = ("asyncssh", "aiodocker", "aiohttp", "textual", "asyncio")

# Runs deck's main in this interpreter, then says which top-level packages it had imported.
PROBE = ("import sys\n"
         "from launchdeck.cli.main import main\n"
         "code = main(sys.argv[1:])\n"
         "sys.stdout.flush()\n"
         "print('IMPORTED:' + ','.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
         "sys.exit(code)\n")


def deck_imports(deck, *args):
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=deck.project,
                            env=deck.env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    imported = set(lines[-1].removeprefix("IMPORTED:").split(","))
    return "\n".join(lines[:-1]), imported


def test_version_prints_the_installed_version(deck):
    result = deck("--version", check=True)
    assert result.out == f"deck {metadata.version('launchdeck')}\n"
    _, imported = deck_imports(deck, "--version")
    assert "argparse" not in imported  # answered before any command is set up


def test_local_submit_imports_no_other_targets_libraries(deck, project):
    (project / "hello.py").write_text("print('hello')\n")
    out, imported = deck_imports(deck, "submit", "-c", "local", "hello.py")
    assert "hello" in out.splitlines()
    assert not imported & set(HEAVY), imported & set(HEAVY)
    # Nothing changed: the configs checked by the first submit are used, not parsed again.
    out, imported = deck_imports(deck, "submit", "-c", "local", "hello.py")
    assert "hello" in out.splitlines()
    assert not imported & {*HEAVY, "ruamel", "yaml"}, imported & {*HEAVY, "ruamel", "yaml"}
    # Its keeper is forked, not started with subprocess: deck itself needs no subprocess. Nor
    # what only writing a config (tempfile) or explaining a missing key (difflib) needs.
    assert not imported & {"subprocess", "tempfile", "difflib"}, imported


# Runs deck's main like PROBE, and says which of deck's modules were loaded when the keeper's
# seed was forked (the first fork of a submit).
FORK_PROBE = ("import os, sys\n"
              "seen = []\n"
              "fork = os.fork\n"
              "def spying_fork():\n"
              "    if not seen:\n"
              "        seen.append(sorted(m for m in sys.modules if m.startswith('launchdeck')))\n"
              "    return fork()\n"
              "os.fork = spying_fork\n"
              "from launchdeck.cli.main import main\n"
              "code = main(sys.argv[1:])\n"
              "sys.stdout.flush()\n"
              "print('AT FORK:' + ','.join(seen[0] if seen else []))\n"
              "sys.exit(code)\n")


def test_a_submits_keeper_inherits_the_modules_both_use(deck, project):
    """The keeper is forked once the modules it shares with deck are loaded: it does not
    import configs, history and the content store a second time."""
    (project / "hello.py").write_text("print('hello')\n")
    for _ in range(2):  # the first submit parses the configs; the second uses the cache
        result = subprocess.run([sys.executable, "-c", FORK_PROBE, "submit", "-c", "local",
                                 "hello.py"], cwd=deck.project, env=deck.env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "hello" in result.stdout.splitlines()
        at_fork = set(result.stdout.splitlines()[-1].removeprefix("AT FORK:").split(","))
        shared = {"launchdeck.core.config.runconfig", "launchdeck.core.config.compute",
                  "launchdeck.core.history.store", "launchdeck.core.snapshot.store"}
        assert shared <= at_fork, shared - at_fork


def test_a_changed_config_is_read_again(deck, project):
    (project / "greet.py").write_text("import os\nprint('greeting:', os.environ['GREETING'])\n")
    assert "greeting: hello from local" in deck("submit", "-c", "local", "greet.py").out
    runconfig = project / "aml_config" / "local.runconfig"
    runconfig.write_text(runconfig.read_text().replace("hello from local", "hello again"))
    result = deck("submit", "-c", "local", "greet.py")
    assert "greeting: hello again" in result.out, result.err


def test_a_config_broken_after_a_submit_is_refused_with_its_line(deck, project):
    (project / "hello.py").write_text("print('hello')\n")
    deck("submit", "-c", "local", "hello.py", check=True)
    compute = project / "aml_config" / "local.compute"
    compute.write_text(compute.read_text() + "maxConcurrentRuns: lots\n")
    result = deck("submit", "-c", "local", "hello.py")
    assert result.returncode == 2
    assert "local.compute:" in result.err and "maxConcurrentRuns" in result.err


def test_a_default_dependency_file_added_after_a_submit_is_read(deck, project):
    (project / "hello.py").write_text("print('hello')\n")
    runconfig = project / "aml_config" / "local.runconfig"
    runconfig.write_text(runconfig.read_text().replace(
        '"SparkDependenciesFile": "aml_config/spark_dependencies.yml"',
        '"SparkDependenciesFile": null'))
    (project / "aml_config" / "spark_dependencies.yml").unlink()  # the default, absent
    deck("submit", "-c", "local", "hello.py", check=True)
    (project / "aml_config" / "spark_dependencies.yml").write_text("configuration: [1, 2]\n")
    result = deck("submit", "-c", "local", "hello.py")
    assert result.returncode == 2 and "spark_dependencies.yml" in result.err, result.err


def test_warnings_are_shown_on_every_submit(deck, project):
    (project / "hello.py").write_text("print('hello')\n")
    runconfig = project / "aml_config" / "local.runconfig"
    runconfig.write_text(runconfig.read_text() + "UseSamplng: true\n")
    for _ in range(2):
        result = deck("submit", "-c", "local", "hello.py", check=True)
        assert "UseSamplng: unknown key, ignored; did you mean UseSampling?" in result.err


@pytest.mark.docker
def test_a_second_prepare_finds_the_image_without_docker_libraries(docker_project):
    from tests.fixtures.docker_engine import CA_BUNDLE
    from tests.fixtures.projects import Deck

    docker_project.compute(buildCaBundle=CA_BUNDLE)
    docker_project.conda("dependencies:\n  - pip:\n    - six\n")
    docker_project.write("aml_config/docker.runconfig",
                         'ArgumentVector: ["$file"]\nTarget: docker\nFramework: Python\n')
    deck = Deck(docker_project.root)
    first = deck("prepare", "-c", "docker", timeout=600, check=True)
    ref = first.out.splitlines()[-1].split()[1]
    assert ref.startswith("deck-env:")
    out, imported = deck_imports(deck, "prepare", "-c", "docker")
    assert out.splitlines() == [f"environment image {ref} found; nothing to build",
                                f"Image: {ref} (found)"]
    assert not imported & {*HEAVY, "ruamel"}, imported & {*HEAVY, "ruamel"}
    subprocess.run(["docker", "rmi", ref], capture_output=True)
    again = deck("prepare", "-c", "docker", timeout=600, check=True)  # gone: built again
    assert again.out.splitlines()[-1].startswith(f"Image: {ref} (built in ")


def test_a_password_in_a_compute_file_is_not_copied_to_the_cache(deck, project):
    (project / "hello.py").write_text("print('hello')\n")
    compute = project / "aml_config" / "local.compute"
    compute.write_text(compute.read_text() + 'password: "hunter2-plain"\n')
    deck("submit", "-c", "local", "hello.py", check=True)
    cache = project / ".deck" / "cache"
    kept = [p.read_bytes() for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
    assert not any(b"hunter2-plain" in data for data in kept)


def test_parsers_look_each_message_catalog_up_once(monkeypatch):
    # argparse translates its messages through gettext, which searches the disk for a
    # catalog on every call: building `deck runs`'s eleven parsers did it 33 times.
    import gettext

    from launchdeck.cli.main import build_parser

    build_parser("launchdeck.cli.runs")
    searches = []
    real_find = gettext.find
    monkeypatch.setattr(gettext, "find",
                        lambda *args, **kw: searches.append(args) or real_find(*args, **kw))
    build_parser("launchdeck.cli.runs")
    assert searches == []


def test_parsers_measure_the_terminal_once_and_help_still_fits_it(deck):
    # argparse's formatter measured the terminal (importing shutil) for every argument added.
    probe = ("import sys\n"
             "from launchdeck.cli.main import build_parser\n"
             "build_parser('launchdeck.cli.runs')\n"
             "print('shutil' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", probe], env=deck.env, capture_output=True,
                            text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stdout + result.stderr
    narrow = deck("submit", "--help", check=True)  # $COLUMNS is honoured, as shutil does
    deck.env["COLUMNS"] = "50"
    narrower = deck("submit", "--help", check=True)
    assert max(map(len, narrower.out.splitlines())) <= 50
    assert len(narrower.out.splitlines()) > len(narrow.out.splitlines())


def test_a_submit_with_unchanged_configs_loads_no_yaml_helpers(deck, project):
    # The config classes come from the cache; the code that reads and edits YAML files
    # (core.config.yamlio and its helpers) is loaded only where a file is read.
    (project / "hello.py").write_text("print('hello')\n")
    deck("submit", "-c", "local", "hello.py", check=True)
    probe = ("import sys\n"
             "from launchdeck.cli.main import main\n"
             "code = main(sys.argv[1:])\n"
             "sys.stdout.flush()\n"
             "print('LOADED:' + ','.join(sorted(m for m in sys.modules\n"
             "                                 if m.startswith('launchdeck.core.config'))))\n"
             "sys.exit(code)\n")
    result = subprocess.run([sys.executable, "-c", probe, "submit", "-c", "local", "hello.py"],
                            cwd=deck.project, env=deck.env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.splitlines()[-1].removeprefix("LOADED:").split(","))
    assert "launchdeck.core.config.runconfig" in loaded  # the classes of the cached configs
    assert not loaded & {"launchdeck.core.config.yamlio", "launchdeck.core.config._yamlrender",
                         "launchdeck.core.config._yamlguard"}, loaded
