"""Environment images on a real engine: build once, find by tag, fail cleanly."""

from __future__ import annotations

import secrets
import subprocess

import pytest

from launchdeck.core.errors import EnvironmentBuildError
from launchdeck.core.images import build as image_build
from tests.fixtures.docker_engine import CA_BUNDLE

pytestmark = pytest.mark.docker

SIX = """\
name: six_env
dependencies:
  - python=3.11
  - pip
  - pip:
    - six
"""


def image_exists(ref: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode == 0


def remove_image(ref: str) -> None:
    subprocess.run(["docker", "rmi", "-f", ref], capture_output=True)


@pytest.fixture
def build_calls(monkeypatch):
    calls = []
    real = image_build.build_image

    async def counting(*args, **kwargs):
        calls.append(args[1].ref)
        return await real(*args, **kwargs)

    monkeypatch.setattr(image_build, "build_image", counting)
    return calls


async def fresh(target, env) -> str:
    """The env's image ref, removed first so the test really builds."""
    ref = f"deck-env:{await target.environment_tag(env)}"
    remove_image(ref)
    return ref


async def build_fresh(target, env) -> tuple[str, list[str]]:
    """Build the env's image from scratch: its ref and the lines the build log showed."""
    ref = await fresh(target, env)
    lines: list[str] = []
    result = await target.ensure_image(env, progress=lines.append)
    assert result.built and result.ref == ref
    return ref, lines


def without_pip_cache() -> None:
    """Empty the pip cache BuildKit keeps between builds: pip keeps an index page ten minutes,
    and a test that wants pip to meet the TLS proxy must not find ``six`` there from another
    test's build."""
    subprocess.run(["docker", "builder", "prune", "-f", "--filter", "type=exec.cachemount"],
                   capture_output=True, check=True)


async def test_prepare_builds_once_then_finds_the_image(docker_project, build_calls):
    env = docker_project.env(conda=SIX, buildCaBundle=CA_BUNDLE)
    target = docker_project.target(env)
    try:
        ref = await fresh(target, env)
        lines: list[str] = []
        first = await target.ensure_image(env, progress=lines.append)
        assert first.built and first.ref == ref and image_exists(ref)
        assert any(line.startswith("Step ") for line in lines), lines  # streamed live
        check = subprocess.run(["docker", "run", "--rm", ref, "python3", "-c", "import six"],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        second = await target.ensure_image(env, progress=lines.append)
        assert not second.built and second.ref == ref
        assert build_calls == [ref]
        labels = subprocess.run(["docker", "image", "inspect", "-f",
                                 "{{json .Config.Labels}}", ref],
                                capture_output=True, text=True).stdout
        assert '"launchdeck.recipe":"3"' in labels
        assert f'"launchdeck.project":"{docker_project.root}"' in labels
    finally:
        await target.close()


async def test_comment_only_change_keeps_the_tag_and_a_dependency_change_does_not(
        docker_project):
    env = docker_project.env(conda=SIX, buildCaBundle=CA_BUNDLE)
    target = docker_project.target(env)
    try:
        tag = await target.environment_tag(env)
        commented = "# pinned for the paper\n" + SIX.replace("  - pip\n", "  - pip   # ok\n\n")
        assert await target.environment_tag(docker_project.env(
            conda=commented, buildCaBundle=CA_BUNDLE)) == tag
        changed = SIX.replace("    - six", "    - six\n    - idna")
        assert await target.environment_tag(docker_project.env(
            conda=changed, buildCaBundle=CA_BUNDLE)) != tag
    finally:
        await target.close()


async def test_a_code_change_does_not_rebuild(docker_project, build_calls):
    env = docker_project.env(conda=None)
    target = docker_project.target(env)
    try:
        first = await target.ensure_image(env, progress=lambda _: None)
        docker_project.write("train.py", "print('changed code')\n")
        again = await target.ensure_image(docker_project.env(conda=None), progress=lambda _: None)
        assert again.ref == first.ref and not again.built
        assert len(build_calls) <= 1
    finally:
        await target.close()


async def test_missing_pip_package_fails_with_pips_message_and_tags_nothing(docker_project):
    conda = "dependencies:\n  - pip:\n    - deck-no-such-package-4b1f\n"
    env = docker_project.env(conda=conda, buildCaBundle=CA_BUNDLE)
    target = docker_project.target(env)
    try:
        ref = await fresh(target, env)
        with pytest.raises(EnvironmentBuildError) as err:
            await target.ensure_image(env, progress=lambda _: None)
        message = str(err.value)
        assert "image build failed at Step" in message and "pip install" in message
        assert "No matching distribution found for deck-no-such-package-4b1f" in message
        assert not image_exists(ref)
    finally:
        await target.close()


WORKBENCH = """\
# Conda environment specification, as Workbench wrote them.
name: project_environment
dependencies:
  # The python interpreter version.
  - python=3.5.2
  - six=1.16.0
  - toolz
  - pip
  - pip:
    # pip packages
    - inflection==0.5.1
"""


async def test_a_workbench_conda_file_builds_on_a_base_without_conda(docker_project):
    env = docker_project.env(conda=WORKBENCH, buildCaBundle=CA_BUNDLE)
    target = docker_project.target(env)
    try:
        ref, lines = await build_fresh(target, env)
        log = "\n".join(lines)
        assert "has no conda: the conda packages of" in log
        assert "conda_dependencies.yml:6: conda six=1.16.0 -> pip six==1.16.0" in log
        assert "conda_dependencies.yml:7: conda toolz -> pip toolz" in log
        assert "warning: " in log and "conda_dependencies.yml:5: python=3.5.2 asks for " \
            "Python 3.5.2, but base image launchdeck-base:bookworm-py311 has Python 3.11" in log
        check = subprocess.run(
            ["docker", "run", "--rm", ref, "python3", "-c",
             "import six, toolz, inflection; print(six.__version__, inflection.__version__)"],
            capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        assert check.stdout.split() == ["1.16.0", "0.5.1"]
        pip_list = subprocess.run(["docker", "run", "--rm", ref, "python3", "-m", "pip",
                                   "list", "--format=freeze"], capture_output=True, text=True)
        assert "python==" not in pip_list.stdout.lower()  # the python entry is never installed
    finally:
        await target.close()


async def test_a_conda_name_pip_cannot_find_fails_naming_its_line(docker_project):
    conda = "dependencies:\n  - python=3.11\n  - six\n  - deck-no-such-conda-package-9d4=2.1\n"
    env = docker_project.env(conda=conda, buildCaBundle=CA_BUNDLE)
    target = docker_project.target(env)
    try:
        ref = await fresh(target, env)
        with pytest.raises(EnvironmentBuildError) as err:
            await target.ensure_image(env, progress=lambda _: None)
        message = str(err.value)
        assert "pip cannot find" in message and "conda_dependencies.yml:4: " \
            "deck-no-such-conda-package-9d4=2.1 (a conda package, installed with pip as " \
            "deck-no-such-conda-package-9d4==2.1.*)" in message
        assert not image_exists(ref)
    finally:
        await target.close()


# No conda channel is reachable here and conda cannot be installed (see
# /work/shared/test-infrastructure.md), so a base image "with conda" has a stand-in: it writes
# how it was called, and the specs of the files it was given, to a file of the image.
CONDA_STAND_IN = """\
#!/bin/sh
log=/opt/conda/calls.log
echo "conda $*" >> "$log"
[ -n "$CONDA_SSL_VERIFY" ] && [ -f "$CONDA_SSL_VERIFY" ] && echo "ssl_verify ok" >> "$log"
while [ $# -gt 0 ]; do
  [ "$1" = "--file" ] && sed 's/^/  spec: /' "$2" >> "$log"
  shift
done
exit 0
"""


@pytest.fixture
def conda_base(docker_engine, tmp_path):
    """The suite's base image with the conda stand-in at /opt/conda/bin (on PATH, as conda's
    own images have it), under a tag of this test's own; removed afterwards."""
    context = tmp_path / "conda-base"
    context.mkdir()
    script = context / "conda"
    script.write_text(CONDA_STAND_IN)
    script.chmod(0o755)
    (context / "Dockerfile").write_text(
        f"FROM {docker_engine}\nCOPY conda /opt/conda/bin/conda\n"
        "ENV PATH=/opt/conda/bin:$PATH\n")
    tag = f"deck-test-conda-base:{secrets.token_hex(6)}"
    subprocess.run(["docker", "build", "-q", "-t", tag, str(context)], check=True,
                   capture_output=True)
    try:
        yield tag
    finally:
        remove_image(tag)


async def test_a_base_with_conda_installs_the_conda_packages_with_conda(
        docker_project, conda_base, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # probe this base afresh
    conda = WORKBENCH.replace("  - toolz\n", "  - scikit-learn\n  - ipykernel=4.6.1\n")
    env = docker_project.env(conda=conda, baseDockerImage=conda_base, buildCaBundle=CA_BUNDLE)
    target = docker_project.target(env)
    ref = ""
    try:
        ref = f"deck-env:{await target.environment_tag(env)}"  # removed afterwards
        _, lines = await build_fresh(target, env)
        log = "\n".join(lines)
        said = f"base image {conda_base} has conda: the conda packages of "
        assert any(line.startswith(said) and line.endswith(
            "conda_dependencies.yml are installed with conda") for line in lines), log
        assert "has no conda" not in log and "-> pip" not in log
        calls = subprocess.run(["docker", "run", "--rm", ref, "cat", "/opt/conda/calls.log"],
                               capture_output=True, text=True)
        assert calls.returncode == 0, calls.stderr
        assert calls.stdout.splitlines() == [
            "conda install --yes --file /tmp/deck-build/conda.txt",
            "ssl_verify ok",  # conda verifies the index with the build's CA bundle
            "  spec: python=3.5.2",
            "  spec: six=1.16.0",
            "  spec: scikit-learn",
            "  spec: ipykernel=4.6.1",
            "  spec: pip",
            "conda clean --all --yes"]
        pip_list = subprocess.run(["docker", "run", "--rm", ref, "python3", "-m", "pip",
                                   "list", "--format=freeze"], capture_output=True, text=True)
        installed = pip_list.stdout.lower().splitlines()
        assert "inflection==0.5.1" in installed  # the pip: list went to pip
        assert not any(line.startswith(("scikit-learn==", "ipykernel==")) for line in installed)
    finally:
        await target.close()
        if ref:
            remove_image(ref)


def unrelated_ca(folder) -> str:
    """A PEM bundle holding only a CA of our own, which signs nothing pip will see."""
    key, cert = folder / "key.pem", folder / "ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=deck test CA", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return str(cert)


async def test_a_certificate_failure_says_to_set_build_ca_bundle(docker_project, tmp_path):
    env = docker_project.env(conda="dependencies:\n  - pip:\n    - six\n",
                             buildCaBundle=unrelated_ca(tmp_path))
    target = docker_project.target(env)
    try:
        ref = await fresh(target, env)
        without_pip_cache()
        with pytest.raises(EnvironmentBuildError) as err:
            await target.ensure_image(env, progress=lambda _: None)
        first, *rest = str(err.value).splitlines()
        assert first.startswith("image build failed: pip could not verify the package index's "
                                "TLS certificate (CERTIFICATE_VERIFY_FAILED")
        assert "buildCaBundle (" in first and "is set but does not verify it" in first
        assert "pip cannot find" not in str(err.value)
        assert not image_exists(ref)
    finally:
        await target.close()


async def test_behind_the_proxy_without_a_bundle_the_error_names_the_readme_fix(
        docker_project, monkeypatch):
    """The test machines reach the index through a TLS-inspecting proxy (see
    /work/shared/test-infrastructure.md), as corporate users do."""
    monkeypatch.delenv("DECK_BUILD_CA_BUNDLE", raising=False)
    env = docker_project.env(conda="dependencies:\n  - toolz\n")
    target = docker_project.target(env)
    try:
        await fresh(target, env)
        without_pip_cache()
        with pytest.raises(EnvironmentBuildError) as err:
            await target.ensure_image(env, progress=lambda _: None)
        first = str(err.value).splitlines()[0]
        assert "pip could not verify the package index's TLS certificate" in first
        assert "set buildCaBundle: /etc/ssl/certs/ca-certificates.crt" in first
        assert "aml_config/docker.compute" in first
    finally:
        await target.close()


async def test_offline_mode_installs_wheels_gathered_on_the_host(docker_project, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # toolz is a conda entry: on this conda-less base it is installed from the wheels too
    env = docker_project.env(conda=SIX.replace("  - pip\n", "  - pip\n  - toolz\n"),
                             buildOffline=True)
    target = docker_project.target(env)
    try:
        ref = await fresh(target, env)
        lines: list[str] = []
        result = await target.ensure_image(env, progress=lines.append)
        assert result.built and result.ref == ref
        assert any("--no-index --find-links" in line for line in lines)
        assert list((tmp_path / "cache/launchdeck/wheels").glob("*/six-*.whl"))
        assert list((tmp_path / "cache/launchdeck/wheels").glob("*/toolz-*.whl"))
        check = subprocess.run(["docker", "run", "--rm", "--network", "none", ref, "python3",
                                "-c", "import six, toolz; print(six.__version__)"],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
    finally:
        await target.close()


@pytest.mark.parametrize("buildkit", ["1", "0"])
async def test_both_builders_build_the_environment_and_stream_their_steps(
        docker_project, monkeypatch, buildkit):
    monkeypatch.setenv("DECK_BUILDKIT", buildkit)
    env = docker_project.env(conda=SIX, buildCaBundle=CA_BUNDLE)
    target = docker_project.target(env)
    try:
        ref = await fresh(target, env)
        lines: list[str] = []
        await target.ensure_image(env, progress=lines.append, rebuild=True)
        steps = [line for line in lines if line.startswith("Step ")]
        assert any("pip install" in step for step in steps), lines
        check = subprocess.run(
            ["docker", "run", "--rm", ref, "python3", "-c",
             "import os, six; print(os.path.exists('/tmp/deck-build/requirements.txt'))"],
            capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        # BuildKit mounts the build's files into their step; the classic builder copies them.
        assert check.stdout.strip() == ("False" if buildkit == "1" else "True")
    finally:
        await target.close()


async def test_two_keepers_needing_one_new_image_build_it_once(docker_project, build_calls):
    """As a sweep's trials do: both miss the image; the second waits for the first's build."""
    import asyncio

    env = docker_project.env(conda=None)
    first, second = docker_project.target(env), docker_project.target(env)
    try:
        ref = await fresh(first, env)
        lines: list[list[str]] = [[], []]
        results = await asyncio.gather(
            first.ensure_image(env, progress=lines[0].append),
            second.ensure_image(docker_project.env(conda=None), progress=lines[1].append))
        assert build_calls == [ref]
        assert sorted(r.built for r in results) == [False, True]
        assert {r.ref for r in results} == {ref} and image_exists(ref)
        waiter = lines[[r.built for r in results].index(False)]
        assert any("building" in line and "waiting for it" in line for line in waiter), waiter
        assert any("built meanwhile" in line for line in waiter), waiter
    finally:
        await first.close()
        await second.close()
