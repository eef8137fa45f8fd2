"""Passwords: Workbench secret references fail clearly, keyring references, plain-text warnings."""

from __future__ import annotations

import sys
import types

import pytest

from launchdeck.core.config.compute import load_compute
from launchdeck.core.config.secrets import (PasswordSource, check_secrets, resolve_environment,
                                 resolve_password)
from launchdeck.core.errors import SecretError
from tests.core.config.conftest import make_project, write


def compute(in_tmp, password_line: str):
    return load_compute(write(in_tmp / "aml_config" / "vm.compute",
                              f"# a VM\ntype: remotedocker\nbaseDockerImage: img\naddress: vm\n"
                              f"{password_line}\n"))


@pytest.fixture
def fake_keyring(monkeypatch):
    store: dict[tuple[str, str], str] = {}
    module = types.ModuleType("keyring")
    module.get_password = lambda service, user: store.get((service, user))
    monkeypatch.setitem(sys.modules, "keyring", module)
    return store


def test_workbench_secret_reference_says_what_to_use_instead(in_tmp):
    vm = load_compute(make_project(in_tmp, "quoted") / "aml_config" / "myvm.compute")
    with pytest.raises(SecretError) as info:
        resolve_password(vm)
    message = str(info.value)
    assert message.startswith("quoted/aml_config/myvm.compute:11:13: password is a Workbench "
                              "secret reference (AzureMlSecret=...)")
    for needle in ("cannot be resolved here", "identityFile", "SSH agent",
                   "keyring:SERVICE/USER"):
        assert needle in message
    assert "5f2a0a3e" not in message  # the reference itself is not repeated
    with pytest.raises(SecretError):
        check_secrets(vm)


def test_no_password_means_key_or_agent(in_tmp):
    resolved = resolve_password(compute(in_tmp, "identityFile: ~/.ssh/id_rsa"))
    assert (resolved.value, resolved.source, resolved.warning) == (None, PasswordSource.NONE, None)


def test_plain_password_works_with_a_warning_that_never_shows_it(in_tmp):
    config = compute(in_tmp, 'password: "s3cr3t-Pa55"')
    resolved = resolve_password(config)
    assert (resolved.value, resolved.source) == ("s3cr3t-Pa55", PasswordSource.PLAIN)
    assert resolved.warning.startswith("aml_config/vm.compute:5:11: password of target 'vm' is "
                                       "stored in plain text in the project")
    assert "s3cr3t" not in resolved.warning and "s3cr3t" not in repr(resolved)
    assert check_secrets(config) == resolved.warning


def test_keyring_reference_without_the_keyring_package(in_tmp, monkeypatch):
    monkeypatch.setitem(sys.modules, "keyring", None)  # makes "import keyring" fail
    with pytest.raises(SecretError) as info:
        resolve_password(compute(in_tmp, "password: keyring:launchdeck/me"))
    assert str(info.value).startswith("aml_config/vm.compute:5:11: password refers to the system "
                                      "keyring (keyring:launchdeck/me), but the Python package "
                                      "'keyring' is not installed")


def test_keyring_reference_resolves_through_the_keyring(in_tmp, fake_keyring):
    fake_keyring[("lab/hosts", "me")] = "from-keyring"
    resolved = resolve_password(compute(in_tmp, "password: keyring:lab/hosts/me"))
    assert (resolved.value, resolved.source, resolved.warning) == (
        "from-keyring", PasswordSource.KEYRING, None)


def test_keyring_without_an_entry_says_how_to_add_one(in_tmp, fake_keyring):
    with pytest.raises(SecretError, match="no password for service 'launchdeck', user 'me'; "
                                          "store one with: keyring set launchdeck me"):
        resolve_password(compute(in_tmp, "password: keyring:launchdeck/me"))


def test_a_failing_keyring_backend_is_a_secret_error(in_tmp, fake_keyring, monkeypatch):
    def locked(service, user):
        raise RuntimeError("collection is locked")

    monkeypatch.setattr(sys.modules["keyring"], "get_password", locked)
    with pytest.raises(SecretError, match="could not be read.*collection is locked"):
        resolve_password(compute(in_tmp, "password: keyring:launchdeck/me"))


# -- environment variables of a runconfig ---------------------------------------------------------

def runconfig(in_tmp, env_lines: str):
    from launchdeck.core.config.runconfig import load_runconfig

    return load_runconfig(write(in_tmp / "aml_config" / "gpu.runconfig",
                                f"Target: local\nEnvironmentVariables:\n{env_lines}"))


def test_environment_secrets_come_from_the_keyring_and_the_rest_stays(in_tmp, fake_keyring):
    fake_keyring[("launchdeck", "proj.gpu.TOKEN")] = "tok-123"
    config = runconfig(in_tmp, "  TOKEN: keyring:launchdeck/proj.gpu.TOKEN\n  RATE: '0.3'\n")
    assert resolve_environment(config) == {"TOKEN": "tok-123", "RATE": "0.3"}
    assert config.environment_variables["TOKEN"] == "keyring:launchdeck/proj.gpu.TOKEN"


def test_a_missing_environment_secret_names_the_variable(in_tmp, fake_keyring):
    config = runconfig(in_tmp, "  TOKEN: keyring:launchdeck/gone\n")
    with pytest.raises(SecretError) as info:
        resolve_environment(config)
    assert info.value.field == "EnvironmentVariables.TOKEN"
    assert "store one with: keyring set launchdeck gone" in str(info.value)


def test_a_malformed_environment_reference_says_the_format(in_tmp, fake_keyring):
    with pytest.raises(SecretError, match="EnvironmentVariables.TOKEN: a keyring reference is "
                                          "keyring:SERVICE/USER"):
        resolve_environment(runconfig(in_tmp, "  TOKEN: keyring:nouser\n"))
