"""Find an environment image with two plain requests: the second ``deck prepare`` answered fast.

Whether ``deck-env:<tag>`` exists on the local engine needs the base image's id (for the tag)
and one more look-up. Done through the engine client (``core.docker.client``) that costs an
event loop, whose import alone is a good part of the command; here it is two HTTP/1.0 requests
over the engine's Unix socket (HTTP/1.0: the engine answers in one piece and closes, so nothing
more is needed to read the answer; http.client would import the email package). Anything this
path is not sure of (another engine, a missing base image, ``buildOffline`` only the file can tell, any
error) answers None, and the caller takes the full path, which also says what is wrong.
"""

from __future__ import annotations

import json
import os
import socket
from typing import TYPE_CHECKING
from urllib.parse import quote

from launchdeck.core.images.recipe import REPOSITORY, environment_tag
from launchdeck.core.images.settings import BuildSettings, known_offline

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.targets.base import EnvironmentSpec

#: As ``core.docker.engine.engine_url`` (not imported: it imports asyncio).
DEFAULT_URL = "unix:///var/run/docker.sock"
TIMEOUT_SECONDS = 10.0


def find_environment_image(compute: "ComputeConfig", env: "EnvironmentSpec") -> str | None:
    """``deck-env:<tag>`` of ``env`` if it is on the local engine; None if not, or not sure."""
    if str(compute.type) != "docker" or compute.user_managed_environment:
        return None
    base = compute.base_docker_image
    url = os.environ.get("DOCKER_HOST") or DEFAULT_URL
    offline = known_offline(compute)
    if not base or offline is None or not url.startswith("unix://"):
        return None
    engine = url[len("unix://"):]
    try:
        base_id = _image_id(engine, base)
        if base_id is None:
            return None
        tag = environment_tag(base_id=base_id, conda=env.conda,
                              settings=BuildSettings(offline=offline))
        ref = f"{REPOSITORY}:{tag}"
        return ref if _image_id(engine, ref) is not None else None
    except (OSError, ValueError, KeyError, IndexError):
        return None


def _image_id(engine: str, name: str) -> str | None:
    """The id of image ``name`` on the engine at socket path ``engine``; None if it has none."""
    status, body = _get(engine, f"/images/{quote(name, safe='')}/json")
    if status == 404:
        return None
    if status != 200:
        raise ValueError(f"the engine answered {status}")
    return json.loads(body)["Id"]


def _get(engine: str, path: str) -> tuple[int, bytes]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT_SECONDS)
        sock.connect(engine)
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
        chunks = []
        while data := sock.recv(1 << 16):
            chunks.append(data)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body
