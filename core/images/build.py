"""Send an ``ImageRecipe`` to an engine, stream its progress, tag the image only on success.

The build runs untagged and the tag is applied after the engine reports success, so a failed
or interrupted build never leaves a half-made image under a deck tag. Intermediate containers
are removed even on failure (``forcerm``); successful steps stay in the engine's build cache,
which is what makes a one-package change rebuild only the layer it touches.

Engines with BuildKit (``core.images.buildkit``) get the recipe's BuildKit Dockerfile: files
bind-mounted into their install step instead of copied in steps of their own, pip's downloads
in a cache mount. Its progress is read back into the same lines the classic builder prints.
"""

from __future__ import annotations

import io
import re
import tarfile
import tempfile
import time
from typing import IO

from launchdeck.core.docker.client import EngineClient
from launchdeck.core.docker.engine import engine_errors
from launchdeck.core.docker.session import EngineError
from launchdeck.core.errors import EnvironmentBuildError
from launchdeck.core.images import buildkit, condapip
from launchdeck.core.images.recipe import REPOSITORY, ImageRecipe
from launchdeck.core.targets.base import Progress

_STEP = re.compile(r"^Step \d+/\d+ : ")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # the engine colours a RUN step's stderr
_ENV_PREFIX = re.compile(r"^(Step \d+/\d+ : RUN )(?:--mount=\S+ |[A-Z_]+=\S* )+")
_CERT = re.compile(r"CERTIFICATE_VERIFY_FAILED|certificate verify failed", re.I)
_EXIT = re.compile(r"The command '.*' returned a non-zero code: (\d+)"  # classic builder
                   r"|exit code: (\d+)\s*$", re.S)  # BuildKit


def build_context(recipe: ImageRecipe, *, dockerfile: str | None = None) -> IO[bytes]:
    """The build context as an uncompressed tar in a temp file (wheels can be large)."""
    spool = tempfile.TemporaryFile()
    dockerfile = recipe.dockerfile if dockerfile is None else dockerfile
    with tarfile.open(fileobj=spool, mode="w") as tar:
        for name, data in {"Dockerfile": dockerfile.encode(), **recipe.files}.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
        if recipe.wheel_dir is not None:
            for wheel in sorted(recipe.wheel_dir.iterdir()):
                if wheel.is_file() and not wheel.name.startswith("."):
                    info = tar.gettarinfo(str(wheel), arcname=f"wheels/{wheel.name}")
                    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                    with open(wheel, "rb") as f:
                        tar.addfile(info, f)
    spool.seek(0)
    return spool


class _Transcript:
    """Build output as lines: forwarded to progress, remembered for the error message."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.partial = ""
        self.step = ""
        self.step_lines: list[str] = []

    def feed(self, text: str) -> None:
        self.partial += _ANSI.sub("", text)
        *lines, self.partial = self.partial.split("\n")
        for line in lines:
            self._line(line.rstrip("\r"))

    def flush(self) -> None:
        if self.partial:
            self._line(self.partial)
            self.partial = ""

    def _line(self, line: str) -> None:
        if _STEP.match(line):
            self.step, self.step_lines = line, []
        else:
            self.step_lines = (self.step_lines + [line])[-200:]
        self.progress(line)

    def failure(self, engine_message: str, recipe: ImageRecipe | None = None) -> str:
        step = _ENV_PREFIX.sub(r"\1", self.step)  # the pip settings only hide the command
        step = step if len(step) < 160 else step[:157] + "..."
        code = _EXIT.search(engine_message)
        if code:
            engine_message = f"the command exited with code {code.group(1) or code.group(2)}"
        lines = [ln for ln in self.step_lines if ln.strip()
                 and not ln.startswith((" ---> ", "Removing intermediate container"))]
        # pip and conda put the reason on lines of their own; show those, else the tail.
        reasons = [ln for ln in lines if ln.lstrip().startswith(("ERROR", "error:", "E:",
                                                                   "PackagesNotFoundError"))]
        shown = reasons or lines[-15:]
        text = f"image build failed at {step or 'the first step'}: {engine_message.strip()}"
        if any(_CERT.search(ln) for ln in self.step_lines):
            # pip then also says "No matching distribution": the index was never read, so no
            # package is to blame; the fix is the CA bundle.
            advice = recipe.ca_advice if recipe is not None and recipe.ca_advice else \
                "set buildCaBundle in the target's .compute file"
            text = ("image build failed: pip could not verify the package index's TLS "
                    "certificate (CERTIFICATE_VERIFY_FAILED; a TLS-inspecting proxy on the "
                    f"way, most likely): {advice}\n  at {step or 'the first step'}")
            shown = [ln if len(ln) < 300 else ln[:297] + "..."
                     for ln in self.step_lines if _CERT.search(ln)][-1:]
        else:
            missing = condapip.not_found(lines, recipe.sources if recipe is not None else {})
            if missing:
                text += "\n  " + missing
        if shown:
            text += "\n" + "\n".join("  " + ln for ln in shown)
        return text


async def build_image(docker: EngineClient, recipe: ImageRecipe, *, url: str,
                      progress: Progress, nocache: bool = False) -> str:
    """Build ``recipe`` and tag it ``deck-env:<tag>``; return the image id."""
    transcript = _Transcript(progress)
    image_id = None
    started = time.monotonic()
    async with engine_errors(f"building {recipe.ref}", url):
        with_buildkit = bool(recipe.buildkit_dockerfile) and buildkit.available(
            await docker.version())
        trace = buildkit.Progress()
        dockerfile = recipe.buildkit_dockerfile if with_buildkit else recipe.dockerfile
        with build_context(recipe, dockerfile=dockerfile) as context:
            try:
                async for chunk in docker.images.build(context, buildkit=with_buildkit,
                                                       nocache=nocache):
                    if "stream" in chunk:
                        transcript.feed(chunk["stream"])
                    elif chunk.get("id") == "moby.buildkit.trace":
                        for line in trace.lines(str(chunk.get("aux", ""))):
                            transcript.feed(line)
                    elif "aux" in chunk and isinstance(chunk["aux"], dict):
                        image_id = chunk["aux"].get("ID", image_id)
                    elif "status" in chunk:
                        transcript.feed(chunk["status"] + "\n")
            except EngineError as exc:
                transcript.flush()
                raise EnvironmentBuildError(transcript.failure(exc.message, recipe)) from None
        transcript.flush()
        if image_id is None:  # engines before API 1.30 only print "Successfully built <id>"
            for line in reversed(transcript.step_lines):
                if line.startswith("Successfully built "):
                    image_id = line.split()[-1]
                    break
        if image_id is None:
            raise EnvironmentBuildError(f"building {recipe.ref}: the engine reported success "
                                        "but no image id")
        await docker.images.tag(image_id, REPOSITORY, tag=recipe.tag)
    progress(f"built {recipe.ref} ({image_id[:19]}) in {time.monotonic() - started:.1f} s")
    return image_id

