"""The one error tree of Launchdeck.

Every failure a user can see is a ``DeckError``; third-party exceptions (OS, the Docker Engine,
asyncssh, sqlite3, ruamel.yaml) are translated into one of these at the boundary where they
happen, so the CLI and the dashboard only ever catch ``DeckError``::

    DeckError
    ├── ProjectError          no project here, a path that leaves the project
    ├── ConfigError           a config file or value is wrong (names file:line:column or field)
    │   └── SecretError       a secret cannot be resolved (AzureMlSecret=..., keyring)
    ├── SnapshotError         the content store cannot take or restore a snapshot
    ├── StorageError          a file or database cannot be written: no space left on the
    │                         device, a read-only folder (the message names the path)
    ├── HistoryError          the run history cannot be read or written
    │   ├── RunNotFound       no run with that id
    │   │   └── AmbiguousRunRef  a part of an id that several runs hold (names them)
    │   ├── RunExists         a run with that id is already recorded
    │   ├── HistoryBusy       another process holds the database's lock past the busy timeout
    │   └── HistoryCorrupt    the database file is damaged ('deck history repair' rebuilds it)
    ├── RunStateError         a state change that the run's life does not allow
    └── TargetError           a compute target cannot do what was asked
        ├── TargetUnreachable the host, engine or cluster does not answer
        ├── HostKeyError      a host key is unknown or has changed
        ├── EnvironmentBuildError  building an environment image failed
        └── ExecutionLost     the process, container or application vanished
"""

from __future__ import annotations


class DeckError(Exception):
    """Base of every error Launchdeck reports to a user."""

    def __str__(self) -> str:  # one clear line, never a repr
        return self.args[0] if self.args else self.__class__.__name__


class ProjectError(DeckError):
    """No project was found, or a path leaves the project."""


class ConfigError(DeckError):
    """A config file does not parse or holds a wrong value.

    ``str()`` gives ``file:line:column: message`` when the position is known, so editors and
    terminals can jump to it.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 column: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.field = field

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        field = f"{self.field}: " if self.field and self.field not in self.message else ""
        return f"{where}{field}{self.message}"


class SecretError(ConfigError):
    """A secret value is a reference that cannot be resolved here."""


class SnapshotError(DeckError):
    """A snapshot cannot be taken or restored."""


class HistoryError(DeckError):
    """The run history database cannot be read or written."""


class RunNotFound(HistoryError):
    """No run has the given id."""


class AmbiguousRunRef(RunNotFound):
    """A part of an id that several runs hold. ``run_ids`` names them all (newest number
    first), so that a face that can ask (the dashboard) offers them to pick from."""

    def __init__(self, message: str, run_ids: tuple[str, ...] = ()) -> None:
        super().__init__(message)  # run_ids has a default: a pickled copy is made from message
        self.run_ids = run_ids


class RunExists(HistoryError):
    """A run with that id is already recorded (a new run then takes another id)."""


class HistoryBusy(HistoryError):
    """Another process held the database's write lock longer than the busy timeout."""


class HistoryCorrupt(HistoryError):
    """The database file is damaged or is not a database."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


class StorageError(DeckError):
    """A file or the database cannot be written: no space left, or a read-only folder."""


class RunStateError(DeckError):
    """A run was asked to move to a state its life does not allow."""


class TargetError(DeckError):
    """A compute target cannot do what was asked."""


class TargetUnreachable(TargetError):
    """The host, Docker Engine or cluster does not answer."""


class HostKeyError(TargetError):
    """A host key is unknown (with its fingerprint) or differs from known_hosts."""

    def __init__(self, message: str, *, host: str = "", fingerprint: str = "",
                 changed: bool = False) -> None:
        super().__init__(message)
        self.host = host
        self.fingerprint = fingerprint
        self.changed = changed


class EnvironmentBuildError(TargetError):
    """Building a run's environment (image or executor environment) failed."""


class ExecutionLost(TargetError):
    """The process, container or Spark application of a run vanished."""
