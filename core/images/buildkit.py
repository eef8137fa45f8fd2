"""BuildKit through the Engine API: whether an engine has it, and what its progress says.

``POST /build?version=2`` builds with BuildKit from an uploaded context, no session needed.
Its progress arrives as ``moby.buildkit.trace`` records: base64 protobuf ``StatusResponse``
messages (moby/buildkit ``control.proto``). Deck reads the two parts a person watching a build
needs, the steps (vertexes) and their output (logs), with the small wire-format reader below
rather than a protobuf dependency.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass, field
from typing import Iterator

#: ``DECK_BUILDKIT=0`` builds with the classic builder even where BuildKit is there.
ENV = "DECK_BUILDKIT"
#: Engine API 1.41 (Docker 20.10) has BuildKit with ``RUN --mount`` in its own Dockerfile
#: frontend; older engines get the classic builder.
MIN_API = (1, 41)
_STEP = re.compile(r"^\[(?:\S+ )?(\d+)/(\d+)\] (.*)$", re.S)  # "[2/3] RUN", "[stage-0 2/3] RUN"


def available(version: dict) -> bool:
    """Whether an engine (its ``GET /version`` answer) builds with BuildKit for deck."""
    if os.environ.get(ENV, "").lower() in ("0", "false", "no"):
        return False
    if str(version.get("Os", "linux")).lower() != "linux":
        return False
    try:
        api = tuple(int(p) for p in str(version.get("ApiVersion", "")).split(".")[:2])
    except ValueError:
        return False
    return api >= MIN_API


@dataclass
class Progress:
    """Turns trace records into lines, in the classic builder's words where they exist."""

    started: set[str] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)

    def lines(self, aux: str) -> Iterator[str]:
        """The lines one ``moby.buildkit.trace`` record adds: a "Step N/M : ..." line when a
        step starts, and its output as it comes (the error arrives as the build's own)."""
        try:
            status = base64.b64decode(aux)
        except ValueError:
            return
        for number, value in _fields(status):
            if number == 1 and isinstance(value, bytes):
                yield from self._vertex(dict(_fields(value)))
            elif number == 3 and isinstance(value, bytes):
                log = dict(_fields(value))
                msg = log.get(4)
                if isinstance(msg, bytes) and msg:
                    yield msg.decode("utf-8", errors="replace")

    def _vertex(self, vertex: dict) -> Iterator[str]:
        digest = _text(vertex.get(1))
        name = _text(vertex.get(3))
        if name:
            self.names[digest] = name
        if 5 in vertex and digest not in self.started:  # field 5: started
            self.started.add(digest)
            step = _STEP.match(self.names.get(digest, ""))
            if step:
                yield f"Step {step.group(1)}/{step.group(2)} : {step.group(3)}\n"


def _text(value) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else ""


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of a protobuf message: varints as int, length-delimited as bytes;
    fixed-width values are skipped (deck reads none)."""
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, value
        elif wire == 2:
            size, pos = _varint(data, pos)
            yield number, data[pos:pos + size]
            pos += size
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            return  # groups (deprecated) or damage: stop reading this message


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
    return result, pos
