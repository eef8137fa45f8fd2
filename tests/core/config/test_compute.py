"""`.compute` files: both Workbench styles, every wrong value at its position, attach writes."""

from __future__ import annotations

import pytest

from launchdeck.core.config.compute import (ComputeConfig, TargetType, compute_path, load_compute,
                                 write_compute)
from launchdeck.core.errors import ConfigError
from tests.core.config.conftest import make_project, write


def rejects(in_tmp, text: str, message: str) -> None:
    path = write(in_tmp / "aml_config" / "x.compute", text)
    before = path.read_bytes()
    with pytest.raises(ConfigError) as info:
        load_compute(path)
    assert str(info.value) == message
    assert path.read_bytes() == before


def test_quoted_workbench_files_load(in_tmp):
    project = make_project(in_tmp, "quoted")
    docker = load_compute(project / "aml_config" / "docker.compute")
    assert docker == ComputeConfig(
        name="docker", path=project / "aml_config" / "docker.compute", type=TargetType.DOCKER,
        base_docker_image="microsoft/mmlspark:plus-0.9.9", shared_volumes=True)
    vm = load_compute(project / "aml_config" / "myvm.compute")
    assert (vm.type, vm.address, vm.username, vm.port) == (
        TargetType.REMOTEDOCKER, "myvm.eastus2.cloudapp.azure.com", "vmadmin", 22)
    assert vm.password.startswith("AzureMlSecret=")  # loads: old projects must open
    assert vm.native_shared_directory == "~/.azureml/share/"
    hdi = load_compute(project / "aml_config" / "myhdi.compute")
    assert (hdi.type, hdi.yarn_deploy_mode, hdi.python_location) == (
        TargetType.CLUSTER, "client", "/usr/bin/anaconda/envs/py35/bin/python3")


def test_plain_workbench_files_load(in_tmp):
    project = make_project(in_tmp, "plain")
    local = load_compute(project / "aml_config" / "local.compute")
    assert (local.type, local.python_location, local.user_managed_environment) == (
        TargetType.LOCAL, "python", True)
    assert load_compute(project / "aml_config" / "docker.compute").type is TargetType.DOCKER


def test_new_keys_and_unknown_keys(in_tmp):
    path = write(in_tmp / "aml_config" / "s.compute",
                 "type: cluster\naddress: head\nport: 2222\nidentityFile: ~/.ssh/id_ed25519\n"
                 "maxConcurrentRuns: 3\nsparkMaster: yarn\nsparkVersion: 2.1\n")
    config = load_compute(path)
    assert (config.port, config.identity_file, config.max_concurrent_runs, config.spark_master) \
        == (2222, "~/.ssh/id_ed25519", 3, "yarn")
    assert config.unknown_keys == ("sparkVersion",)


def test_link_loss_timeout_is_seconds_or_left_out(in_tmp):
    path = write(in_tmp / "aml_config" / "s.compute",
                 "type: remotedocker\naddress: h\nbaseDockerImage: x\nlinkLossTimeout: 90\n")
    assert load_compute(path).link_loss_timeout == 90
    path.write_text("type: remotedocker\naddress: h\nbaseDockerImage: x\n")
    assert load_compute(path).link_loss_timeout is None  # a run waits for its link for ever
    written = write_compute(in_tmp / "aml_config" / "w.compute", type="remote", address="h",
                            link_loss_timeout=30)
    assert written.link_loss_timeout == 30 and "linkLossTimeout: 30" in \
        (in_tmp / "aml_config" / "w.compute").read_text()


def test_password_never_shows_in_repr(in_tmp):
    path = write(in_tmp / "aml_config" / "p.compute",
                 'type: remote\naddress: h\npassword: "hunter2"\n')
    config = load_compute(path)
    assert config.password == "hunter2" and "hunter2" not in repr(config)


def test_type_is_required_and_checked(in_tmp):
    rejects(in_tmp, "address: h\n", "aml_config/x.compute: type is required (one of local, "
            "docker, remotedocker, remote, cluster, localdocker)")
    rejects(in_tmp, "\n\n'type': 'dockr'\n", 'aml_config/x.compute:3:9: type must be one of '
            'local, docker, remotedocker, remote, cluster, localdocker, got "dockr"')
    rejects(in_tmp, "typ: docker\n", "aml_config/x.compute:1:1: type is required (one of local, "
            "docker, remotedocker, remote, cluster, localdocker); did you mean type instead of "
            "typ?")
    rejects(in_tmp, "type: [docker]\n", "aml_config/x.compute:1:7: type must be one of local, "
            "docker, remotedocker, remote, cluster, localdocker, got a list")


@pytest.mark.parametrize("line, message", [
    ('"port": "2222"', '2:9: port must be a port number from 1 to 65535, got "2222"'),
    ("port: 70000", "2:7: port must be a port number from 1 to 65535, got the number 70000"),
    ("port: 0", "2:7: port must be a port number from 1 to 65535, got the number 0"),
    ("port: true", "2:7: port must be a port number from 1 to 65535, got true"),
    ("port: 22.5", "2:7: port must be a port number from 1 to 65535, got the number 22.5"),
    ("sharedVolumes: yes", '2:16: sharedVolumes must be true or false, got "yes"'),
    ('nvidiaDocker: "false"', '2:15: nvidiaDocker must be true or false, got "false"'),
    ("maxConcurrentRuns: 0", "2:20: maxConcurrentRuns must be a whole number of at least 1, got "
                             "the number 0"),
    ("username: {a: 1}", "2:11: username must be text, got a map"),
    ("linkLossTimeout: 0", "2:18: linkLossTimeout must be a whole number of seconds, at least 1, "
                           "got the number 0"),
    ('linkLossTimeout: "10m"', '2:18: linkLossTimeout must be a whole number of seconds, at '
                               'least 1, got "10m"'),
    ("yarnDeployMode: server", '2:17: yarnDeployMode must be "client" or "cluster", got '
                               '"server"'),
    ("password: 12345", "2:11: password must be text (put it in quotes)"),
    ("password: keyring:nothing", "2:11: password: a keyring reference is keyring:SERVICE/USER, "
                                  "for example keyring:launchdeck/vmadmin"),
])
def test_wrong_values_are_reported_at_their_position(in_tmp, line, message):
    rejects(in_tmp, f"type: remote\n{line}\naddress: h\n", f"aml_config/x.compute:{message}")


def test_what_a_target_type_needs(in_tmp):
    rejects(in_tmp, "type: remotedocker\nbaseDockerImage: img\n",
            "aml_config/x.compute: address is required (a remotedocker target needs the host "
            "name or IP address)")
    rejects(in_tmp, "type: docker\nbaseDockerImage: ''\n", "aml_config/x.compute:2:18: "
            "baseDockerImage must not be empty (a docker target needs the image runs start from)")
    rejects(in_tmp, "type: localdocker\nbaseImage: img\n", "aml_config/x.compute:2:1: "
            "baseDockerImage is required (a docker target needs the image runs start from); did "
            "you mean baseDockerImage instead of baseImage?")


def test_compute_path_refuses_names_that_leave_the_folder(tmp_path):
    assert compute_path(tmp_path, "gpu") == tmp_path / "aml_config" / "gpu.compute"
    for bad in ("", "..", "a/b", "a\\b"):
        with pytest.raises(ConfigError, match="not a valid compute target name"):
            compute_path(tmp_path, bad)


def test_write_compute_creates_a_commented_file_that_loads(in_tmp):
    path = in_tmp / "aml_config" / "gpu.compute"
    path.parent.mkdir()
    config = write_compute(path, type="remotedocker", base_docker_image="nvidia/cuda:12.2",
                           address="gpu.lab", port=2222, username="me",
                           identity_file="~/.ssh/id_ed25519", nvidia_docker=True,
                           password="keyring:launchdeck/me")
    assert config == load_compute(path)
    text = path.read_text()
    assert text.startswith("# Defines the compute target gpu")
    assert "# The SSH port\nport: 2222\n" in text
    assert "baseDockerImage: nvidia/cuda:12.2\n" in text and "nvidiaDocker: true\n" in text
    assert "sparkMaster" not in text  # only what was given
    with pytest.raises(ConfigError, match="gpu.compute: already exists; nothing was written"):
        write_compute(path, type="local")
    assert path.read_text() == text
    assert write_compute(path, type="local", force=True).type is TargetType.LOCAL


@pytest.mark.parametrize("kwargs, needle", [
    ({"type": "docker"}, "baseDockerImage is required"),
    ({"type": "remote", "address": "h", "port": 0}, "port must be a port number"),
    ({"type": "nope"}, "type must be one of"),
    ({"type": "remote", "address": "h", "password": "hunter2"}, "refusing to write a password"),
    ({"type": "remote", "address": "h", "password": "AzureMlSecret=x"}, "refusing to write"),
])
def test_write_compute_checks_before_writing(in_tmp, kwargs, needle):
    path = in_tmp / "bad.compute"
    with pytest.raises(ConfigError) as info:
        write_compute(path, **kwargs)
    assert needle in str(info.value) and "hunter2" not in str(info.value)
    assert list(in_tmp.iterdir()) == []


def test_write_compute_writes_the_build_settings_the_builds_read(in_tmp):
    from launchdeck.core.images.settings import BuildSettings

    (in_tmp / "aml_config").mkdir()
    (in_tmp / "certs").mkdir()
    (in_tmp / "certs" / "proxy.pem").write_text("PEM")
    path = in_tmp / "aml_config" / "d.compute"
    config = write_compute(path, type="docker", base_docker_image="x",
                           build_ca_bundle="certs/proxy.pem", build_offline=True)
    assert "buildCaBundle: certs/proxy.pem\n" in path.read_text()
    assert "buildOffline: true\n" in path.read_text()
    settings = BuildSettings.from_compute(config, in_tmp, environ={})
    assert (settings.ca_bundle, settings.offline) == (in_tmp / "certs" / "proxy.pem", True)
    with pytest.raises(ConfigError, match="buildCaBundle: .*missing.pem is not a file"):
        write_compute(in_tmp / "aml_config" / "e.compute", type="docker",
                      base_docker_image="x", build_ca_bundle="missing.pem")
    assert not (in_tmp / "aml_config" / "e.compute").exists()


def test_port_left_out_lets_ssh_config_decide(in_tmp):
    from launchdeck.core.remote.sshconfig import resolve

    cfg = write(in_tmp / "ssh_config", "Host gpu\n  HostName 10.0.0.7\n  Port 2200\n")
    unset = load_compute(write(in_tmp / "aml_config" / "a.compute",
                               "type: remotedocker\naddress: gpu\nbaseDockerImage: x\n"))
    assert (unset.port, unset.explicit_port) == (22, None)
    assert resolve(unset.address, port=unset.explicit_port, config_paths=[cfg]).port == 2200
    given = load_compute(write(in_tmp / "aml_config" / "b.compute",
                               "type: remotedocker\naddress: gpu\nbaseDockerImage: x\nport: 22\n"))
    assert (given.port, given.explicit_port) == (22, 22)
    assert resolve(given.address, port=given.explicit_port, config_paths=[cfg]).port == 22


def test_store_budget_is_a_size_on_targets_that_build_environments(in_tmp):
    path = write(in_tmp / "aml_config" / "s.compute",
                 "type: remotedocker\naddress: h\nbaseDockerImage: x\nstoreBudget: 20GB\n")
    assert load_compute(path).store_budget == 20_000_000_000
    path.write_text("type: cluster\naddress: h\nstoreBudget: 512MiB\n")
    assert load_compute(path).store_budget == 512 * 1024 ** 2
    path.write_text("type: docker\nbaseDockerImage: x\n")
    assert load_compute(path).store_budget is None  # no limit
    written = write_compute(in_tmp / "aml_config" / "w.compute", type="docker",
                            base_docker_image="x", store_budget="5GB")
    assert written.store_budget == 5_000_000_000 and "storeBudget: 5GB" in \
        (in_tmp / "aml_config" / "w.compute").read_text()


@pytest.mark.parametrize("text, message", [
    ("storeBudget: lots", '3:14: storeBudget must be a size such as 20GB, 500MB or 2GiB, got '
                          '"lots"'),
    ("storeBudget: 0", "3:14: storeBudget must be a size such as 20GB, 500MB or 2GiB, got the "
                       "number 0"),
    ("storeBudget: true", "3:14: storeBudget must be a size such as 20GB, 500MB or 2GiB, got "
                          "true"),
])
def test_a_wrong_store_budget_is_reported_at_its_position(in_tmp, text, message):
    rejects(in_tmp, f"type: docker\nbaseDockerImage: x\n{text}\n",
            f"aml_config/x.compute:{message}")


def test_store_budget_on_a_target_that_builds_nothing_is_refused(in_tmp):
    rejects(in_tmp, "type: remote\naddress: h\nstoreBudget: 1GB\n",
            "aml_config/x.compute:3:1: storeBudget applies to docker, remotedocker and cluster "
            "targets, where deck builds environments; a remote target builds none")
