"""ImageRecipe without an engine: tags, the conda rules, the Dockerfile's layers."""

from __future__ import annotations

from pathlib import Path

import pytest

from launchdeck.core.errors import ConfigError, EnvironmentBuildError
from launchdeck.core.images import recipe
from launchdeck.core.images.probe import BaseFacts, parse_probe
from launchdeck.core.images.settings import BuildSettings
from tests.fixtures.docker_engine import load_compute, load_conda

DEBIAN = BaseFacts(image_id="sha256:" + "1" * 64, python="python3", python_version="3.11.2",
                   has_pip=True, conda=None)
CONDA = BaseFacts(image_id="sha256:" + "2" * 64, python="python3", python_version="3.10.4",
                  has_pip=True, conda="mamba")


def conda_file(tmp_path: Path, text: str):
    path = tmp_path / "conda_dependencies.yml"
    path.write_text(text)
    return load_conda(path)


def plan(conda, facts=DEBIAN, settings=BuildSettings(), **kw):
    return recipe.plan(tag="t", base_name="base:1", facts=facts, conda=conda,
                       settings=settings, project_dir=Path("/p"), **kw)


def test_tag_ignores_comments_and_whitespace_but_not_dependencies(tmp_path):
    a = conda_file(tmp_path, "name: e\ndependencies:\n  - pip:\n    - six\n")
    tag_a = recipe.environment_tag(base_id="sha256:b", conda=a, settings=BuildSettings())
    b = conda_file(tmp_path, "# a comment\nname:   e\n\ndependencies:\n- pip:   # why\n  - six\n")
    assert recipe.environment_tag(base_id="sha256:b", conda=b, settings=BuildSettings()) == tag_a
    c = conda_file(tmp_path, "name: e\ndependencies:\n  - pip:\n    - six==1.16.0\n")
    assert recipe.environment_tag(base_id="sha256:b", conda=c, settings=BuildSettings()) != tag_a


def test_tag_follows_base_id_and_offline_but_not_ca_bundle(tmp_path):
    conda = conda_file(tmp_path, "dependencies:\n  - pip:\n    - six\n")
    tag = recipe.environment_tag(base_id="sha256:b", conda=conda, settings=BuildSettings())
    assert recipe.environment_tag(base_id="sha256:c", conda=conda,
                                  settings=BuildSettings()) != tag
    assert recipe.environment_tag(base_id="sha256:b", conda=conda,
                                  settings=BuildSettings(offline=True)) != tag
    assert recipe.environment_tag(base_id="sha256:b", conda=conda, settings=BuildSettings(
        ca_bundle=Path("/etc/ssl/certs/ca-certificates.crt"))) == tag
    assert len(tag) == 20 and int(tag, 16) >= 0


def test_pip_only_recipe_has_one_pip_layer_and_labels_last(tmp_path):
    conda = conda_file(tmp_path, "dependencies:\n  - python=3.11\n  - pip\n  - pip:\n"
                                 "    - six\n    - --index-url https://example.invalid/simple\n")
    r = plan(conda)
    lines = r.dockerfile.splitlines()
    assert lines[1] == f"FROM {DEBIAN.image_id}"
    assert lines[-2].startswith("RUN ") and "python3 -m pip install" in lines[-2]
    assert lines[-1].startswith('LABEL "launchdeck.base"="base:1"')
    assert r.files["requirements.txt"] == b"six\n--index-url https://example.invalid/simple\n"
    # python=3.11 matches the base's 3.11.2 (said once); pip is the base's own, not installed
    assert len(r.notes) == 1 and "python=3.11: base image base:1 has Python 3.11.2, which " \
        "matches" in r.notes[0]
    assert "conda-pip.txt" not in r.files


def test_conda_packages_without_conda_are_a_pip_layer_before_the_pip_list(tmp_path):
    conda = conda_file(tmp_path, "dependencies:\n  - python=3.6\n  - numpy=1.26\n"
                                 "  - scikit-learn\n  - pip\n  - pip:\n    - six\n")
    r = plan(conda, conda_file="aml_config/conda_dependencies.yml")
    assert r.files["conda-pip.txt"] == b"numpy==1.26.*\nscikit-learn\n"
    assert r.dockerfile.index("conda-pip.txt") < r.dockerfile.index("requirements.txt")
    assert "python3 -m pip install --requirement /tmp/deck-build/conda-pip.txt" in r.dockerfile
    text = "\n".join(r.notes)
    assert "has no conda: the conda packages of aml_config/conda_dependencies.yml are " \
        "installed with pip" in text
    assert "conda_dependencies.yml:3: conda numpy=1.26 -> pip numpy==1.26.*" in text
    assert "conda_dependencies.yml:4: conda scikit-learn -> pip scikit-learn" in text
    assert "warning: " in text and "python=3.6 asks for Python 3.6" in text
    assert r.sources["numpy"].endswith(
        "conda_dependencies.yml:3: numpy=1.26 (a conda package, installed with pip as "
        "numpy==1.26.*)")
    assert r.sources["six"].endswith("conda_dependencies.yml:7: six")


def test_translation_changes_the_tag_through_the_recipe_version(tmp_path, monkeypatch):
    conda = conda_file(tmp_path, "dependencies:\n  - six=1.16.0\n")
    tag = recipe.environment_tag(base_id="sha256:b", conda=conda, settings=BuildSettings())
    monkeypatch.setattr(recipe.condapip, "TRANSLATION_VERSION", 99)
    assert recipe.environment_tag(base_id="sha256:b", conda=conda,
                                  settings=BuildSettings()) != tag
    assert recipe.RECIPE_VERSION >= 2


def test_python_2_on_a_python_3_base_is_an_error_naming_the_line(tmp_path):
    with pytest.raises(EnvironmentBuildError) as err:
        plan(conda_file(tmp_path, "dependencies:\n  - python=2.7\n  - six\n"))
    message = str(err.value)
    assert "conda_dependencies.yml:2: python=2.7 asks for Python 2.7" in message
    assert "base image base:1 has Python 3.11.2" in message


def test_python_version_mismatch_is_a_warning_not_an_error(tmp_path):
    r = plan(conda_file(tmp_path, "dependencies:\n  - python=3.5.2\n  - pip:\n    - six\n"))
    assert len(r.notes) == 1 and r.notes[0].startswith("warning: ")
    assert "conda_dependencies.yml:2: python=3.5.2 asks for Python 3.5.2" in r.notes[0]
    assert "has Python 3.11.2" in r.notes[0] and "the run uses Python 3.11.2" in r.notes[0]


def test_conda_base_installs_conda_packages_before_pip(tmp_path):
    conda = conda_file(tmp_path, "channels:\n  - conda-forge\ndependencies:\n  - python=3.6\n"
                                 "  - numpy\n  - pip:\n    - six\n")
    r = plan(conda, facts=CONDA, settings=BuildSettings(ca_bundle=Path(__file__)))
    text = r.dockerfile
    assert r.files["conda.txt"] == b"python=3.6\nnumpy\n"
    assert "mamba install --yes --override-channels -c conda-forge" in text
    assert "CONDA_SSL_VERIFY=/tmp/deck-build/ca.pem" in text
    assert text.index("conda.txt") < text.index("requirements.txt")
    assert "PIP_CERT=/tmp/deck-build/ca.pem" in text
    assert r.notes == ("base image base:1 has mamba: the conda packages of the conda file are "
                       "installed with mamba",)


def test_offline_installs_from_wheels_without_an_index(tmp_path):
    r = plan(conda_file(tmp_path, "dependencies:\n  - pip:\n    - six\n"),
             settings=BuildSettings(offline=True), wheel_dir=tmp_path)
    assert "--no-index --find-links /tmp/deck-build/wheels" in r.dockerfile
    assert r.wheel_dir == tmp_path


def test_no_python_or_no_pip_in_base_is_an_error(tmp_path):
    conda = conda_file(tmp_path, "dependencies:\n  - pip:\n    - six\n")
    with pytest.raises(EnvironmentBuildError, match="no python3 or python"):
        plan(conda, facts=parse_probe("sha256:x", "conda=/opt/conda/bin/conda\n"))
    with pytest.raises(EnvironmentBuildError, match="without pip"):
        plan(conda, facts=parse_probe("sha256:x", "python3=/usr/bin/python3\nversion=3.11.2\n"))


def test_probe_output_parsing():
    facts = parse_probe("sha256:x", "python3=/usr/bin/python3\nconda=/opt/conda/bin/conda\n"
                                    "mamba=/opt/conda/bin/mamba\nversion=3.10.4\npip=yes\n")
    assert (facts.python, facts.conda, facts.python_minor, facts.has_pip) == \
        ("python3", "mamba", "3.10", True)


def test_build_settings_from_compute_keys_and_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("DECK_BUILD_CA_BUNDLE", raising=False)
    monkeypatch.delenv("DECK_BUILD_OFFLINE", raising=False)
    (tmp_path / "ca.pem").write_text("pem")
    path = tmp_path / "docker.compute"
    path.write_text('type: docker\nbaseDockerImage: "b:1"\nbuildCaBundle: ca.pem\n'
                    "buildOffline: true\n")
    settings = BuildSettings.from_compute(load_compute(path), tmp_path)
    assert settings == BuildSettings(ca_bundle=tmp_path / "ca.pem", offline=True)
    env = {"DECK_BUILD_CA_BUNDLE": str(Path(__file__)), "DECK_BUILD_OFFLINE": "0"}
    settings = BuildSettings.from_compute(load_compute(path), tmp_path, env)
    assert settings == BuildSettings(ca_bundle=Path(__file__), offline=False)
    path.write_text('type: docker\nbaseDockerImage: "b:1"\nbuildCaBundle: /no/such.pem\n')
    with pytest.raises(ConfigError, match="buildCaBundle: /no/such.pem is not a file"):
        BuildSettings.from_compute(load_compute(path), tmp_path, {})


def test_the_tag_needs_the_compute_file_read_again_only_for_build_offline(tmp_path):
    path = tmp_path / "docker.compute"
    path.write_text('type: docker\nbaseDockerImage: "b:1"\nbuildCaBundle: /no/such.pem\n')
    compute = load_compute(path)
    # Finding an image (every Docker launch) needs what goes into the tag only; a CA bundle
    # counts when building, and is checked then: the file is not parsed again for it.
    path.write_text("buildOffline: [not yaml")
    assert BuildSettings.for_tag(compute, tmp_path, {}) == BuildSettings(offline=False)
    path.write_text('type: docker\nbaseDockerImage: "b:1"\nbuildOffline: true\n')
    assert BuildSettings.for_tag(load_compute(path), tmp_path, {}) == \
        BuildSettings(offline=True)
    assert BuildSettings.for_tag(load_compute(path), tmp_path, {"DECK_BUILD_OFFLINE": "0"}) == \
        BuildSettings(offline=False)


def test_offline_installs_conda_and_pip_layers_from_the_same_wheels(tmp_path):
    conda = conda_file(tmp_path, "dependencies:\n  - toolz\n  - pip:\n    - six\n")
    assert recipe.pip_requirements(conda, DEBIAN) == ["toolz", "six"]
    assert recipe.pip_requirements(conda, CONDA) == ["six"]  # conda installs toolz there
    r = plan(conda, settings=BuildSettings(offline=True), wheel_dir=tmp_path)
    assert r.dockerfile.count("COPY wheels/") == 1
    assert r.dockerfile.count("--no-index --find-links /tmp/deck-build/wheels") == 2


def test_classic_build_copies_the_ca_bundle_with_the_first_install_file(tmp_path):
    conda = conda_file(tmp_path, "dependencies:\n  - pip:\n    - six\n")
    r = plan(conda, settings=BuildSettings(ca_bundle=Path(__file__)))
    steps = [line for line in r.dockerfile.splitlines() if not line.startswith("#")]
    assert [s.split()[0] for s in steps] == ["FROM", "COPY", "RUN", "LABEL"]
    assert steps[1] == "COPY ca.pem requirements.txt /tmp/deck-build/"
    assert "COPY" not in plan(conda_file(tmp_path, "dependencies: []\n"), settings=BuildSettings(
        ca_bundle=Path(__file__))).dockerfile  # nothing to install: nothing to copy


def test_buildkit_build_mounts_its_files_and_caches_pips_downloads(tmp_path):
    conda = conda_file(tmp_path, "dependencies:\n  - numpy\n  - pip:\n    - six\n")
    r = plan(conda, settings=BuildSettings(ca_bundle=Path(__file__), offline=True),
             wheel_dir=tmp_path)
    steps = [line for line in r.buildkit_dockerfile.splitlines() if not line.startswith("#")]
    assert steps[0] == "FROM base:1"  # BuildKit reads FROM as a name
    assert [s.split()[0] for s in steps] == ["FROM", "RUN", "RUN", "LABEL"]
    conda_pip, pip = steps[1], steps[2]
    assert "--mount=type=bind,source=conda-pip.txt,target=/tmp/deck-build/conda-pip.txt" \
        in conda_pip
    assert "--mount=type=bind,source=requirements.txt,target=/tmp/deck-build/requirements.txt" \
        in pip
    for step in (conda_pip, pip):
        assert "--mount=type=bind,source=ca.pem,target=/tmp/deck-build/ca.pem" in step
        assert "--mount=type=bind,source=wheels,target=/tmp/deck-build/wheels" in step
        assert "--mount=type=cache,target=/tmp/deck-pip-cache" in step
        assert "PIP_CACHE_DIR=/tmp/deck-pip-cache" in step and "PIP_NO_CACHE_DIR" not in step
