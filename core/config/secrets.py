"""Password values of ``.compute`` files: keyring references, Workbench secret references, plain text.

A ``password`` is one of:

- absent: authenticate with ``identityFile`` or the SSH agent (the recommended way);
- ``keyring:SERVICE/USER``: looked up in the system keyring (the ``keyring`` package is a
  dependency; an install without it gets a clear error, see ``keyring_problem``);
- ``AzureMlSecret=...``: a reference Workbench stored in its cloud credential service. Such files
  load (old projects must open), but the reference cannot be resolved here: resolving it is a
  SecretError that says what to use instead;
- anything else: a plain-text password in the project. It works, with a warning, because it ends
  up in snapshots and version control. Its value never appears in a message or a repr.

An environment variable of a ``.runconfig`` may also be a ``keyring:SERVICE/USER`` reference:
the file, the snapshot and run history keep the reference; only the run's process gets the
secret (``resolve_environment``, called where a run's spec is made).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from launchdeck.core.errors import ConfigError, SecretError

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.config.runconfig import RunConfiguration

AZUREML_SECRET_PREFIX = "AzureMlSecret="
KEYRING_PREFIX = "keyring:"
_ALTERNATIVES = ("use an SSH key (identityFile), the SSH agent (remove password), or the "
                 "system keyring (password: keyring:SERVICE/USER)")


class PasswordSource(StrEnum):
    NONE = "none"          #: no password: key file or agent
    KEYRING = "keyring"    #: a ``keyring:SERVICE/USER`` reference
    AZUREML = "azureml"    #: a Workbench ``AzureMlSecret=`` reference (cannot be resolved)
    PLAIN = "plain"        #: the password itself, written in the project


@dataclass(frozen=True)
class ResolvedPassword:
    """The password to use (None: none) and a warning to show the user once, if any."""

    value: str | None = field(repr=False)
    source: PasswordSource
    warning: str | None = None


def password_source(value: str | None) -> PasswordSource:
    if not value:
        return PasswordSource.NONE
    if value.startswith(KEYRING_PREFIX):
        return PasswordSource.KEYRING
    if value.startswith(AZUREML_SECRET_PREFIX):
        return PasswordSource.AZUREML
    return PasswordSource.PLAIN


def parse_keyring_ref(value: str) -> tuple[str, str]:
    """``keyring:SERVICE/USER`` -> (service, user); the user is after the last slash."""
    service, _, user = value[len(KEYRING_PREFIX):].rpartition("/")
    if not service or not user:
        raise ValueError("a keyring reference is keyring:SERVICE/USER, for example "
                         "keyring:launchdeck/vmadmin")
    return service, user


def resolve_password(config: "ComputeConfig") -> ResolvedPassword:
    """The password of a compute target, ready to hand to SSH; SecretError if it cannot be had."""
    source = password_source(config.password)
    if source is PasswordSource.NONE:
        return ResolvedPassword(None, source)
    if source is PasswordSource.AZUREML:
        raise _error(config, "password is a Workbench secret reference (AzureMlSecret=...) kept "
                     "in Azure ML's cloud credential service, which cannot be resolved here; "
                     + _ALTERNATIVES)
    if source is PasswordSource.PLAIN:
        warning = _error(config, f"password of target {config.name!r} is stored in plain text "
                         "in the project (it is copied into snapshots and version control); "
                         + _ALTERNATIVES)
        return ResolvedPassword(config.password, source, warning=str(warning))
    secret, problem = _from_keyring(config.password or "", what="password",
                                    instead="or use an SSH key (identityFile) or the SSH agent")
    if problem:
        raise _error(config, problem)
    return ResolvedPassword(secret, source)


def resolve_environment(config: "RunConfiguration") -> dict[str, str]:
    """A run's environment variables, each ``keyring:`` reference replaced by its secret."""
    env = dict(config.environment_variables)
    for name, value in env.items():
        if not value.startswith(KEYRING_PREFIX):
            continue
        where = f"EnvironmentVariables.{name}"
        try:
            secret, problem = _from_keyring(value, what=where)
        except ValueError as exc:  # not keyring:SERVICE/USER
            secret, problem = None, f"{where}: {exc}"
        if secret is None:
            raise SecretError(problem or f"{where}: no secret", file=str(config.path),
                              field=where)
        env[name] = secret
    return env


def keyring_problem() -> str | None:
    """Why secrets cannot go to the system keyring here (None: they can).

    Asked BEFORE a secret is typed, so nobody types a value only to have it refused.
    """
    try:
        import keyring  # noqa: F401 - a dependency, but a hand-made venv may lack it
    except ImportError:
        return ("the Python package 'keyring' is not installed (pip install keyring); "
                "secrets cannot be kept in the system keyring")
    return None


def _from_keyring(ref: str, *, what: str, instead: str = "") -> tuple[str | None, str | None]:
    """(the secret, None), or (None, why it cannot be had) for a ``keyring:`` reference."""
    service, user = parse_keyring_ref(ref)
    try:
        import keyring  # a dependency; a hand-made environment may still lack it
    except ImportError:
        return None, (f"{what} refers to the system keyring ({ref}), but the Python package "
                      f"'keyring' is not installed; install it (pip install keyring) {instead}"
                      ).rstrip()
    try:
        secret = keyring.get_password(service, user)
    except Exception as exc:  # keyring backends raise their own types (locked, no backend, D-Bus)
        return None, (f"the system keyring could not be read for service {service!r}, "
                      f"user {user!r}: {type(exc).__name__}: {exc}")
    if secret is None:
        return None, (f"the system keyring holds no password for service {service!r}, "
                      f"user {user!r}; store one with: keyring set {service} {user}")
    return secret, None


def check_secrets(config: "ComputeConfig") -> str | None:
    """Fail early (at submit) if a target's password cannot be had; return its warning, if any."""
    return resolve_password(config).warning


def _error(config: "ComputeConfig", message: str) -> SecretError:
    # The position is only needed on this error path: find it again rather than carrying
    # positions in every ComputeConfig.
    from launchdeck.core.config.yamlio import load_document

    try:
        doc = load_document(config.path)
        return doc.error(message, doc.data, "password", field="password", cls=SecretError)
    except ConfigError:
        return SecretError(message, file=str(config.path), field="password")
