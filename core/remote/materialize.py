"""Build a run's folder on a host from the host's mirrored store (see ``core.remote.sync``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from launchdeck.core import farside
from launchdeck.core.errors import SnapshotError, TargetError
from launchdeck.core.remote.sync import REMOTE_STORE
from launchdeck.core.snapshot.manifest import is_digest

if TYPE_CHECKING:
    from launchdeck.core.remote.commands import SSHHost

_SCRIPT = farside.script("materialize").encode()


async def materialize_remote(host: "SSHHost", fingerprint: str, dest: str, *,
                             store_dir: str = REMOTE_STORE) -> int:
    """Write snapshot ``fingerprint`` into ``dest`` on the host (absent or empty); return files.

    ``dest`` and ``store_dir`` are relative to the login user's home unless absolute. The
    snapshot must have been synced with ``sync_snapshot`` first.
    """
    if not is_digest(fingerprint):
        raise SnapshotError(f"not a snapshot fingerprint: {fingerprint!r}")
    result = await host.run(["python3", "-", store_dir, fingerprint, dest], input=_SCRIPT)
    if result.exit_status == 127:
        raise TargetError(f"{host.endpoint}: python3 is not installed on the host; it is "
                          f"needed to materialize a snapshot there")
    if result.exit_status != 0:
        err = result.stderr.decode(errors="replace").strip()[-2000:]
        raise TargetError(f"{host.endpoint}: cannot materialize snapshot {fingerprint[:12]} "
                          f"into {dest}: {err}")
    fields = dict(kv.split("=", 1) for kv in result.stdout.decode().split() if "=" in kv)
    return int(fields.get("files", 0))
