"""The local cloud as an OCI Functions target: the same SDK calls, pointed at the cloud
`fastfn cloud up` serves.

Two builders, chosen with `--set build=image|source` (env `FASTFN_LOCAL_BUILD`):
- `image` (default): `RegistryImageBuilder`, the real image (`deploy/image/`, buildah,
  cached by layer) pushed to the cloud's registry (docker-registry); the function gets
  the OCIR-style name (`local.ocir.io/<namespace>/<repo>:<tag>`) and the digest the
  registry stores, which the cloud resolves through
  `fastfn.localcloud.registry.local_reference`. A plan pushes nothing: it compares the
  build's content key with the one deploy state recorded;
- `source` (the fast one; what `fastfn dev` runs): `LocalImageBuilder`, the service
  directory snapshotted into the cloud's image store.

The cloud is found through its public API (`fastfn.localcloud.oci.running`); nothing
here knows the cloud's state-dir file names.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastfn.deploy.errors import BuildError, TargetError
from fastfn.deploy.steps import PENDING_DIGEST, Artifact, Push
from fastfn.deploy.targets.oci.models import DesiredService, TargetSettings
from fastfn.deploy.targets.oci.target import OciFunctionsTarget

if TYPE_CHECKING:
    from fastfn.localcloud.oci import RunningCloud

log = logging.getLogger("fastfn.deploy.oci")

LOCAL_SUBNET = "local-subnet"


class LocalImageBuilder:
    """Images for the local cloud: directory snapshots in its image store.

    The digest is computed from the service directory (the same sha256 the store gives
    on push), so `fastfn plan` knows it without pushing; the executor pushes only when
    the function needs it."""

    def __init__(self, cloud: RunningCloud) -> None:
        self.cloud = cloud

    def build(self, service: DesiredService) -> Artifact:
        from fastfn.localcloud.oci.images import tree_digest

        if not service.source_dir.is_dir():
            raise BuildError(f"{service.source_dir} is not a directory")
        return Artifact(image=service.function.image,
                        digest=tree_digest(service.source_dir.resolve(), service.app))

    def push(self, step: Push) -> None:
        built = step.artifact
        if step.source_dir is None:
            raise BuildError(f"{built.image}: nothing to push it from")
        store = self.cloud.image_store()
        try:
            digest = store.put(built.image, step.source_dir, step.app)
        finally:
            store.store.close()
        if digest != built.digest:  # the directory changed between plan and apply
            raise BuildError(f"{step.source_dir} changed while deploying "
                             f"({built.digest} planned, {digest} pushed); run again")
        log.info("image pushed", extra={"image": built.image, "digest": digest})


class RegistryImageBuilder:
    """The service's real image, built with buildah and pushed to the cloud's registry.

    The registry names the digest only after a push, and a plan pushes nothing, so
    `build` computes the build's content key (`deploy/image/key.py`: context, Dockerfile,
    base, wheelhouse): the key deploy state recorded with a digest the registry still
    serves gives that digest (unchanged: nothing to push); any other is a new image whose
    digest is `PENDING_DIGEST`, unless the function already runs it: without deploy
    state (removed, or another machine) `deployed_if_same` reads the label the build
    puts on the image (`BUILD_KEY_LABEL`) at the function's digest, and a match is the
    unchanged image. `push` (run by apply only) builds, cached by layer, and pushes,
    returning the registry's digest."""

    def __init__(self, cloud: RunningCloud, cache_dir: Path | None = None) -> None:
        from fastfn.deploy.image.tools import ImageToolMissing, require

        # Raised while the target is made, before any call: a TargetError (the CLI's
        # clear one-line failure), not a build failure.
        if not cloud.registry:
            raise TargetError("the local cloud runs no registry: install docker-registry "
                             "(apt-get install docker-registry) and restart `fastfn cloud "
                             "up`, or deploy from the source folder with --set build=source")
        try:
            for tool in ("buildah", "skopeo"):
                require(tool)
        except ImageToolMissing as exc:
            raise TargetError(f"{exc}; or deploy from the source folder with "
                             "--set build=source") from None
        self.cloud = cloud
        self.cache_dir = cache_dir
        self._planned: dict[str, DesiredService] = {}  # image -> what build() saw

    def _manifest(self, service: DesiredService) -> Any:
        from fastfn.manifest import ManifestError, load

        if not service.source_dir.is_dir():
            raise BuildError(f"{service.source_dir} is not a directory")
        try:
            return load(service.source_dir)
        except ManifestError as exc:
            raise BuildError(str(exc)) from None

    def _key(self, service: DesiredService) -> str:
        from fastfn.deploy.image.key import content_key

        stage = None if service.stage == "default" else service.stage
        return content_key(service.source_dir, self._manifest(service), stage=stage,
                           cache_dir=self.cache_dir)

    def _served(self, image: str, digest: str) -> bool:
        """Does the registry still serve `image`'s repository at `digest`? (a read)"""
        from fastfn.deploy.image.buildah import remote_manifest
        from fastfn.deploy.image.tools import ImageToolError
        from fastfn.localcloud.registry import local_reference

        repository = local_reference(image, self.cloud.registry).rsplit(":", 1)[0]
        try:
            remote_manifest(f"{repository}@{digest}")
        except ImageToolError:
            return False
        return True

    def build(self, service: DesiredService) -> Artifact:
        from fastfn.deploy import state as recorded

        key = self._key(service)
        image = service.function.image
        self._planned[image] = service
        known = recorded.load(service.source_dir, service.stage)
        if (known is not None and known.build_key == key and known.image == image
                and known.digest and self._served(image, known.digest)):
            return Artifact(image=image, digest=known.digest, content_key=key)
        return Artifact(image=image, digest=PENDING_DIGEST, content_key=key)

    def deployed_if_same(self, built: Artifact, image: str | None,
                         digest: str | None) -> Artifact | None:
        """The function's current image (`image@digest`, as observed) when it is this
        build: the same name, and the registry's image there carries the build's content
        key as its `BUILD_KEY_LABEL` (a read of the registry). None otherwise."""
        from fastfn.deploy.image.buildah import BUILD_KEY_LABEL, remote_label
        from fastfn.localcloud.registry import local_reference

        if not (built.content_key and image == built.image and digest
                and digest.startswith("sha256:")):
            return None
        repository = local_reference(image, self.cloud.registry).rsplit(":", 1)[0]
        if remote_label(f"{repository}@{digest}", BUILD_KEY_LABEL) != built.content_key:
            return None
        return Artifact(image=image, digest=digest, content_key=built.content_key)

    def push(self, step: Push) -> str:
        from fastfn.deploy.image.buildah import build_image, push_image
        from fastfn.localcloud.registry import local_reference

        planned = step.artifact
        service = self._planned.get(planned.image)
        if service is None:
            raise BuildError(f"{planned.image}: push of an image this deploy did not plan")
        if planned.content_key and self._key(service) != planned.content_key:
            raise BuildError(f"{service.source_dir} changed while deploying (the image "
                             "planned is not the one it would build now); run again")
        stage = None if service.stage == "default" else service.stage
        built = build_image(service.source_dir, self._manifest(service), planned.image,
                            stage=stage, cache_dir=self.cache_dir)
        pushed = push_image(built.reference,
                            local_reference(planned.image, self.cloud.registry),
                            is_index=built.is_index)
        digest = pushed.rsplit("@", 1)[1]
        log.info("image pushed", extra={"image": planned.image, "digest": digest})
        return digest


BUILDERS = ("source", "image")


def local_cloud_target(state_dir: Path, registry: str = "local.ocir.io/fastfn",
                       endpoint: str | None = None,
                       build: str | None = None) -> OciFunctionsTarget:
    """The local cloud running on `state_dir` (`fastfn cloud up --state-dir ...`);
    `build`: "image" (buildah + the registry; the default) or "source" (directory
    snapshots)."""
    import os

    import oci

    from fastfn.localcloud.oci import running

    state_dir = Path(state_dir)
    cloud = running(state_dir)
    if cloud is None:
        raise TargetError(f"no local cloud is running on {state_dir}: start one with "
                          f"`fastfn cloud up --state-dir {state_dir}`")
    endpoint = endpoint or cloud.endpoint
    config = oci.config.from_file(str(cloud.config_file))
    network = oci.core.VirtualNetworkClient(config, service_endpoint=endpoint)
    try:
        subnets = network.list_subnets(cloud.compartment_id, display_name=LOCAL_SUBNET,
                                       retry_strategy=oci.retry.NoneRetryStrategy()).data
    except Exception as exc:  # requests' connection errors and ServiceError alike
        raise TargetError(f"the local cloud at {endpoint} does not answer "
                          f"({type(exc).__name__}); is `fastfn cloud up --state-dir "
                          f"{state_dir}` running?") from None
    if not subnets:
        raise TargetError(f"the local cloud has no subnet named {LOCAL_SUBNET!r}")
    settings = TargetSettings(compartment_id=cloud.compartment_id,
                              subnet_ids=(subnets[0].id,), registry=registry)
    build = build or os.environ.get("FASTFN_LOCAL_BUILD") or "image"
    if build not in BUILDERS:
        raise TargetError(f"build={build!r}: one of {', '.join(BUILDERS)}")
    builder = RegistryImageBuilder(cloud) if build == "image" else LocalImageBuilder(cloud)
    return OciFunctionsTarget(config, settings, builder,
                              endpoint=endpoint, poll_interval_s=0.2)
