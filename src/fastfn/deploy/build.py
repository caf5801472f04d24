"""The build stage: the image a stage runs, as a reference plus a digest. No remote calls.

Builders share one interface (`ImageBuilder`); the local cloud's own builder, which
snapshots the service directory into the cloud's image store, lives with the target that
uses it (`targets/oci/local.py`).
- `PrebuiltImage`: real OCI. There is no Docker engine inside fastfn: the image is built
  and pushed by `docker buildx build --push` (see `fastfn dockerfile`), in CI or by hand,
  and its `repo:tag@sha256:...` is handed to fastfn. That is the seam where a registry
  push would plug in.
"""

from __future__ import annotations

from typing import Protocol

from fastfn.deploy.errors import BuildError
from fastfn.deploy.models import DesiredService
from fastfn.deploy.steps import Artifact, Push

# A container image, repository:tag plus its digest: the artifact every builder here makes.
BuiltImage = Artifact


class ImageBuilder(Protocol):
    def build(self, service: DesiredService) -> BuiltImage:
        """The image for this service, without side effects on any target."""
        ...

    def push(self, step: Push) -> None:
        """Make the step's artifact pullable by the target (idempotent)."""
        ...


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
