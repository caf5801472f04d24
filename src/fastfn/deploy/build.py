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

from collections.abc import Callable
from typing import Any, Protocol

from fastfn.deploy.errors import BuildError
from fastfn.deploy.steps import Artifact, Push

# A container image, repository:tag plus its digest: the artifact every builder here makes.
BuiltImage = Artifact


class ImageBuilder(Protocol):
    def build(self, service: Any) -> BuiltImage:
        """The image for this service (a target's desired state), without side effects."""
        ...

    def push(self, step: Push) -> str | None:
        """Make the step's artifact pullable by the target (idempotent); the digest the
        registry stores when the plan could not know it (`Artifact.pending`), else None."""
        ...


class PrebuiltImage:
    """An image already in a registry, named with its digest (`repo:tag@sha256:...`)."""

    def __init__(self, reference: str | None,
                 build_hint: Callable[[Any], str] | None = None) -> None:
        self.reference = reference
        self.build_hint = build_hint  # the build-and-push command for a service, for errors

    def build(self, service: Any) -> BuiltImage:
        if not self.reference or "@sha256:" not in self.reference:
            hint = f", then e.g. `{self.build_hint(service)}`" if self.build_hint else ""
            raise BuildError(
                "a deploy to the real cloud needs the pushed image with its digest: build "
                f"and push it (`fastfn dockerfile > Dockerfile`{hint}), then pass "
                "--image <repo>:<tag>@sha256:<digest>")
        image, digest = self.reference.split("@", 1)
        return BuiltImage(image=image, digest=digest)

    def push(self, step: Push) -> None:
        return None  # pushed by whoever built it

