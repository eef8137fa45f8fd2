"""A base image is asked what it has once per machine: the answer is kept by image id."""

from __future__ import annotations

import pytest

from launchdeck.core.images import probe

pytestmark = pytest.mark.docker


async def test_a_base_image_is_probed_once_for_every_deck_process(docker_project, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(probe, "_cache", {})
    target = docker_project.target(docker_project.env(conda=None))
    try:
        docker = await target.client()
        base_id = (await docker.images.inspect(docker_project.base_image))["Id"]
        created = []
        real_create = docker.containers.create

        async def counting(*args, **kwargs):
            created.append(kwargs.get("config", args[0] if args else None))
            return await real_create(*args, **kwargs)

        monkeypatch.setattr(docker.containers, "create", counting)
        first = await probe.probe(docker, base_id, url=target.url)
        assert first.python == "python3" and first.has_pip and len(created) == 1
        monkeypatch.setattr(probe, "_cache", {})  # as a new deck process starts
        again = await probe.probe(docker, base_id, url=target.url)
        assert again == first and len(created) == 1  # no second container
        kept = tmp_path / "cache" / "launchdeck" / "probes" / (
            base_id.removeprefix("sha256:") + ".json")
        kept.write_text("not json")  # damaged: asked again, not trusted
        monkeypatch.setattr(probe, "_cache", {})
        assert await probe.probe(docker, base_id, url=target.url) == first
        assert len(created) == 2
    finally:
        await target.close()
