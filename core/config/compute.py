"""``aml_config/<name>.compute`` files: one compute target each, as a ``ComputeConfig``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from launchdeck.core.config import secrets
from launchdeck.core.config._section import Section
from launchdeck.core.errors import ConfigError

# yamlio is imported where a file is read or written (see core.config._section).
if TYPE_CHECKING:
    from launchdeck.core.config.yamlio import YamlDocument

CONFIG_DIR = "aml_config"


class TargetType(StrEnum):
    LOCAL = "local"                #: a process on this machine
    DOCKER = "docker"              #: a container on this machine's Docker Engine
    REMOTEDOCKER = "remotedocker"  #: a container on a remote host's Docker Engine, over SSH
    REMOTE = "remote"              #: a process on a remote host, over SSH
    CLUSTER = "cluster"            #: spark-submit on a Spark cluster's head node, over SSH


#: Workbench's name for a local Docker target.
TYPE_ALIASES = {"localdocker": TargetType.DOCKER}
_NEEDS_IMAGE = {TargetType.DOCKER, TargetType.REMOTEDOCKER}
_NEEDS_ADDRESS = {TargetType.REMOTEDOCKER, TargetType.REMOTE, TargetType.CLUSTER}
_YARN_MODES = ("client", "cluster")
_TEXT_KEYS = ("baseDockerImage", "address", "username", "identityFile", "nativeSharedDirectory",
              "pythonLocation", "sparkSubmitLocation", "yarnDeployMode", "sparkMaster")

#: File key -> (field name, what the comment written by ``write_compute`` says).
KEYS: dict[str, tuple[str, str]] = {
    "type": ("type", 'The type of compute target: "local", "docker", "remotedocker", "remote", '
             '"cluster"'),
    "baseDockerImage": ("base_docker_image", "The base image of the run's container"),
    "address": ("address", "The host name or IP address of the remote machine or head node"),
    "port": ("port", "The SSH port"),
    "username": ("username", "The user name for SSH"),
    "password": ("password", "The SSH password as a system keyring reference: "
                 "keyring:SERVICE/USER (prefer identityFile or the SSH agent)"),
    "identityFile": ("identity_file", "The SSH private key file (leave out to use the SSH agent)"),
    "sharedVolumes": ("shared_volumes", "Whether to mount the run's files into the container "
                      "as a shared volume instead of copying them in"),
    "nativeSharedDirectory": ("native_shared_directory", "The host folder holding shared "
                              "volumes"),
    "nvidiaDocker": ("nvidia_docker", "Whether to give the container the host's NVIDIA GPUs"),
    "pythonLocation": ("python_location", "The Python interpreter that runs scripts"),
    "sparkSubmitLocation": ("spark_submit_location", "The spark-submit command on the head node"),
    "yarnDeployMode": ("yarn_deploy_mode", 'The YARN deploy mode: "client" or "cluster"'),
    "userManagedEnvironment": ("user_managed_environment", "Whether you manage the environment "
                               "yourself (nothing is installed for a run)"),
    "maxConcurrentRuns": ("max_concurrent_runs", "How many runs may execute here at once "
                          "(more wait in the queue); on a remote host, counted there for "
                          "every machine that submits to it"),
    "sparkMaster": ("spark_master", "The Spark master URL, for example yarn or spark://host:7077"),
    "niceness": ("niceness", "How far below your shell and the dashboard deck schedules the "
                 "runs on this machine (Unix nice, 0 to 19; default 10)"),
    "linkLossTimeout": ("link_loss_timeout", "How many seconds a run waits for its lost SSH "
                        "link before deck gives it up as lost (leave out to wait for ever)"),
    "storeBudget": ("store_budget", "How much disk this project's environments may take on "
                    "this target, for example 20GB; deck removes the oldest unused ones after "
                    "a build to stay within it (leave out for no limit)"),
}
#: The targets where deck builds environments (images, executor venvs): ``storeBudget``'s.
_BUILDS_ENVIRONMENTS = {TargetType.DOCKER, TargetType.REMOTEDOCKER, TargetType.CLUSTER}


@dataclass(frozen=True, kw_only=True)
class ComputeConfig:
    """One compute target as written in its ``.compute`` file."""

    name: str
    path: Path
    type: TargetType
    base_docker_image: str | None = None
    address: str | None = None
    port: int = 22
    #: The port as the file sets it; None lets ``~/.ssh/config`` (``Port``) decide, else 22.
    explicit_port: int | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # raw; see core.config.secrets
    identity_file: str | None = None
    shared_volumes: bool = False
    native_shared_directory: str | None = None
    nvidia_docker: bool = False
    python_location: str | None = None
    spark_submit_location: str | None = None
    yarn_deploy_mode: str | None = None
    user_managed_environment: bool = False
    max_concurrent_runs: int | None = None
    spark_master: str | None = None
    niceness: int | None = None
    #: Seconds a run over SSH waits for its lost link; None: for ever (``core.remote.link``).
    link_loss_timeout: int | None = None
    #: Bytes this project's environments may take on the target; None: no limit.
    store_budget: int | None = None
    unknown_keys: tuple[str, ...] = ()


def compute_path(project_dir: str | os.PathLike[str], name: str) -> Path:
    """Where the target ``name`` of a project lives."""
    if not name or name in (".", "..") or any(c in name for c in "/\\\0"):
        raise ConfigError(f"{name!r} is not a valid compute target name (it becomes a file name)",
                          field="name")
    return Path(project_dir) / CONFIG_DIR / f"{name}.compute"


def load_compute(path: str | os.PathLike[str]) -> ComputeConfig:
    from launchdeck.core.config.yamlio import load_document

    return compute_from_document(load_document(path))


def compute_from_document(doc: YamlDocument) -> ComputeConfig:
    s = Section(doc, doc.data)
    allowed = ", ".join([*TargetType, *TYPE_ALIASES])
    raw_type = s.text("type", expected=f"one of {allowed}",
                      required=f"one of {allowed}", known=KEYS)
    kind = raw_type.strip().lower()
    if kind not in {t.value for t in TargetType} and kind not in TYPE_ALIASES:
        raise s.wrong("type", f"one of {allowed}")
    target_type = TYPE_ALIASES.get(kind) or TargetType(kind)
    values: dict[str, Any] = {"type": target_type}
    for key in _TEXT_KEYS:
        values[KEYS[key][0]] = s.text(key)
    values["explicit_port"] = s.integer("port", None, low=1, high=65535,
                                        expected="a port number from 1 to 65535")
    values["port"] = values["explicit_port"] or 22
    values["max_concurrent_runs"] = s.integer("maxConcurrentRuns", None, low=1,
                                              expected="a whole number of at least 1")
    values["niceness"] = s.integer("niceness", None, low=0, high=19,
                                   expected="a whole number from 0 to 19")
    values["link_loss_timeout"] = s.integer("linkLossTimeout", None, low=1,
                                            expected="a whole number of seconds, at least 1")
    values["store_budget"] = _store_budget(s, target_type)
    for key in ("sharedVolumes", "nvidiaDocker", "userManagedEnvironment"):
        values[KEYS[key][0]] = s.boolean(key, False)
    values["password"] = _password(s)
    mode = values["yarn_deploy_mode"]
    if mode is not None:
        if mode.lower() not in _YARN_MODES:
            raise s.wrong("yarnDeployMode", '"client" or "cluster"')
        values["yarn_deploy_mode"] = mode.lower()
    for needed, key, what in ((_NEEDS_IMAGE, "baseDockerImage", "the image runs start from"),
                              (_NEEDS_ADDRESS, "address", "the host name or IP address")):
        if target_type in needed and values[KEYS[key][0]] is None:
            required = f"a {target_type} target needs {what}"
            if s.has(key):
                raise s.fail(key, f"{key} must not be empty ({required})")
            raise s.missing(key, required, known=KEYS)
    return ComputeConfig(name=doc.path.stem, path=doc.path, unknown_keys=s.unknown(KEYS),
                         **values)


def _store_budget(s: Section, target_type: TargetType) -> int | None:
    from launchdeck.core.housekeeping.amounts import SIZE_EXAMPLES, parse_size

    value = s.get("storeBudget")
    if value is None:
        return None
    size = parse_size(str(value)) if isinstance(value, (str, int)) and \
        not isinstance(value, bool) else None
    if size is None or size <= 0:
        raise s.wrong("storeBudget", SIZE_EXAMPLES)
    if target_type not in _BUILDS_ENVIRONMENTS:
        raise s.fail("storeBudget", f"storeBudget applies to docker, remotedocker and cluster "
                     f"targets, where deck builds environments; a {target_type} target builds "
                     "none", part="key")
    return size


def _password(s: Section) -> str | None:
    value = s.get("password")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        # Never echo the value: it is a password.
        raise s.fail("password", "password must be text (put it in quotes)")
    if secrets.password_source(value) is secrets.PasswordSource.KEYRING:
        try:
            secrets.parse_keyring_ref(value)
        except ValueError as exc:
            raise s.fail("password", f"password: {exc}") from None
    return value


def write_compute(path: str | os.PathLike[str], *, type: TargetType | str,
                  base_docker_image: str | None = None, address: str | None = None,
                  port: int | None = None, username: str | None = None,
                  password: str | None = None, identity_file: str | None = None,
                  shared_volumes: bool | None = None, native_shared_directory: str | None = None,
                  nvidia_docker: bool | None = None, python_location: str | None = None,
                  spark_submit_location: str | None = None, yarn_deploy_mode: str | None = None,
                  user_managed_environment: bool | None = None,
                  max_concurrent_runs: int | None = None, spark_master: str | None = None,
                  niceness: int | None = None, link_loss_timeout: int | None = None,
                  store_budget: str | None = None, build_ca_bundle: str | None = None,
                  build_offline: bool | None = None, header_comment: str | None = None,
                  force: bool = False) -> ComputeConfig:
    """Create a commented ``.compute`` file (for ``deck target attach``); None values are left out.

    Nothing is written if a value is wrong, or if the file exists and ``force`` is not given.
    ``password`` may only be a ``keyring:SERVICE/USER`` reference: Launchdeck never writes a
    password into a project.
    """
    given = locals()
    path = Path(path)
    if password is not None and secrets.password_source(password) is not (
            secrets.PasswordSource.KEYRING):
        raise ConfigError("refusing to write a password into the project; use identityFile, "
                          "the SSH agent, or a keyring reference (keyring:SERVICE/USER)",
                          field="password")
    mapping = {key: given[name] for key, (name, _) in KEYS.items() if given[name] is not None}
    mapping["type"] = str(type)
    comments = {key: comment for key, (_, comment) in KEYS.items()}
    # The build settings are read by core.images.settings (not ComputeConfig fields).
    from launchdeck.core.images.settings import CA_BUNDLE_KEY, OFFLINE_KEY

    for key, value, comment in (
            (CA_BUNDLE_KEY, build_ca_bundle, "A PEM CA bundle pip trusts while building "
             "environment images (for a TLS-inspecting proxy)"),
            (OFFLINE_KEY, build_offline, "Whether images are built from wheels gathered on "
             "this machine, for engines with no network")):
        if value is not None:
            mapping[key], comments[key] = value, comment
    header = header_comment or (f"Defines the compute target {path.stem} "
                                "(written by deck; Azure ML Workbench compatible)")
    from launchdeck.core.config.yamlio import new_document

    doc = new_document(path, mapping, header, key_comments=comments)
    config = compute_from_document(doc)  # validate before anything touches the disk
    if build_ca_bundle is not None or build_offline is not None:
        from launchdeck.core.images.settings import BuildSettings

        # A bundle that is not a file is refused now, not at the first build. The file is
        # not on disk yet: the values are handed over as the attributes settings look for.
        from types import SimpleNamespace

        BuildSettings.from_compute(
            cast(ComputeConfig, SimpleNamespace(path=path, build_ca_bundle=build_ca_bundle,
                                                build_offline=build_offline, unknown_keys=())),
            path.parent.parent, environ={})
    doc.save(force=force)
    return config
