"""aiohttp imported for a remote Docker target loads no CA certificates until TLS is used, and
verifies a TLS peer with the system's certificates as before (core/docker/_quickimport.py)."""

import subprocess
import sys

PROBE = """
import ssl
import launchdeck.core.targets.docker.remote
import aiohttp.connector as connector

verified = connector._SSL_CONTEXT_VERIFIED
print(type(verified).__name__, isinstance(verified, ssl.SSLContext))
print(ssl.SSLContext.load_default_certs.__module__, ssl.create_default_context().cert_store_stats()["x509_ca"] > 0)
print(len(verified.get_ca_certs()) == len(ssl.create_default_context().get_ca_certs()),
      type(verified).__name__, verified.verify_mode == ssl.CERT_REQUIRED)
"""


def test_aiohttp_loads_ca_certificates_only_when_a_context_is_used():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    deferred, restored, used = done.stdout.splitlines()
    assert deferred == "_LoadsCAsWhenUsed True"  # nothing loaded at import
    assert restored == "ssl True"  # contexts made afterwards load theirs as always
    assert used == "True SSLContext True"  # loaded in full at first use, a plain context again
