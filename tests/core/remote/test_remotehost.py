"""``RemoteHost.run`` against the real sshd on 127.0.0.1:2222."""

import pytest

from launchdeck.core.errors import TargetError
from launchdeck.core.remote import SSHPool

pytestmark = pytest.mark.ssh


async def test_a_command_that_exits_before_reading_its_stdin_reports_its_own_status(
        ssh_server, known_hosts_file):
    """Not "connection lost": the channel closed for sending because the command had ended."""
    pool = SSHPool(config_paths=[], known_hosts=ssh_server.write_known_hosts(known_hosts_file))
    host = pool.host(ssh_server.host, port=ssh_server.port, user=ssh_server.user,
                     identity_file=str(ssh_server.client_key))
    big = b"x" * (4 << 20)  # far more than the channel's window: writing it must block
    try:
        for _ in range(20):
            result = await host.run(["sh", "-c", "echo refused >&2; exit 3"], input=big)
            assert (result.exit_status, result.stderr) == (3, b"refused\n")
            with pytest.raises(TargetError, match="exited with 3: refused"):
                await host.run(["sh", "-c", "echo refused >&2; exit 3"], input=big,
                               check=True)
        # The connection is still good for the next command.
        assert (await host.run(["cat"], input=b"abc")).stdout == b"abc"
    finally:
        await pool.close()
