"""The build stage: the image a stage runs, as a reference plus a digest. No remote calls.

Two builders share one interface:
- `LocalImageBuilder`: the local cloud's registry stand-in. The digest is computed from
  the service directory (the same sha256 the store gives on push), so `fastfn plan`
  knows it without pushing; the executor pushes only when the function needs it.
- `PrebuiltImage`: real OCI. There is no Docker engine inside fastfn: the image is built
  and pushed by `docker buildx build --push` (see `fastfn dockerfile`), in CI or by hand,
  and its `repo:tag@sha256:...` is handed to fastfn. That is the seam where a registry
  push would plug in.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from fastfn.deploy.errors import BuildError
from fastfn.deploy.models import DesiredService
from fastfn.deploy.steps import Artifact, Push

log = logging.getLogger("fastfn.deploy.build")


# A container image, repository:tag plus its digest: the artifact every builder here makes.
BuiltImage = Artifact


class ImageBuilder(Protocol):
    def build(self, service: DesiredService) -> BuiltImage:
        """The image for this service, without side effects on any target."""
        ...

    def push(self, step: Push) -> None:
        """Make the step's artifact pullable by the target (idempotent)."""
        ...


class LocalImageBuilder:
    """Images for the local cloud: directory snapshots in its ImageStore."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)

    def build(self, service: DesiredService) -> BuiltImage:
        from fastfn.localcloud.oci.images import tree_digest

        if not service.source_dir.is_dir():
            raise BuildError(f"{service.source_dir} is not a directory")
        return BuiltImage(image=service.function.image,
                          digest=tree_digest(service.source_dir.resolve(), service.app))

    def push(self, step: Push) -> None:
        from fastfn.localcloud.oci.images import ImageStore

        built = step.artifact
        if step.source_dir is None:
            raise BuildError(f"{built.image}: nothing to push it from")
        store = ImageStore.open(self.state_dir)
        try:
            digest = store.put(built.image, step.source_dir, step.app)
        finally:
            store.store.close()
        if digest != built.digest:  # the directory changed between plan and apply
            raise BuildError(f"{step.source_dir} changed while deploying "
                             f"({built.digest} planned, {digest} pushed); run again")
        log.info("image pushed", extra={"image": built.image, "digest": digest})


class PrebuiltImage:
    """An image already in a registry, named with its digest (`repo:tag@sha256:...`)."""

    def __init__(self, reference: str | None) -> None:
        self.reference = reference

    def build(self, service: DesiredService) -> BuiltImage:
        if not self.reference or "@sha256:" not in self.reference:
            raise BuildError(
                "a real OCI deploy needs the pushed image with its digest: build and push "
                "it (`fastfn dockerfile > Dockerfile`, then e.g. "
                f"`{build_command_for(service)}`), then pass "
                "--image <repo>:<tag>@sha256:<digest>")
        image, digest = self.reference.split("@", 1)
        return BuiltImage(image=image, digest=digest)

    def push(self, step: Push) -> None:
        return None  # pushed by whoever built it


def build_command_for(service: DesiredService) -> str:
    from fastfn.deploy.container import buildx_command

    return buildx_command(service.application.settings["shape"], service.function.image)
