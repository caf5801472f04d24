"""The local cloud as an OCI Functions target: the same SDK calls, pointed at the cloud
`fastfn cloud up` serves.

Two builders, chosen with `--set build=image|source` (env `FASTFN_LOCAL_BUILD`):
- `source` (default; the fast one `fastfn dev` users want): `LocalImageBuilder`, the
  service directory snapshotted into the cloud's image store;
- `image`: `RegistryImageBuilder`, the real image (`deploy/image/`, buildah, cached by
  layer) pushed to the cloud's registry (docker-registry); the function gets the
  OCIR-style name (`local.ocir.io/<namespace>/<repo>:<tag>`) and the digest the registry
  stores, which the cloud resolves through `fastfn.localcloud.registry.local_reference`.

The cloud is found through its public API (`fastfn.localcloud.oci.running`); nothing
here knows the cloud's state-dir file names.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from fastfn.deploy.errors import BuildError, TargetError
from fastfn.deploy.steps import Artifact, Push
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

    `build` builds (cached by layer: an unchanged service takes seconds) and pushes (a
    local, idempotent copy: only new blobs move), because the digest OCI records is the
    one the registry stores, known only after a push. `push` then has nothing to do."""

    def __init__(self, cloud: RunningCloud, cache_dir: Path | None = None) -> None:
        if not cloud.registry:
            raise BuildError("the local cloud runs no registry: install docker-registry "
                             "(apt-get install docker-registry) and restart `fastfn cloud "
                             "up`, or deploy with --set build=source")
        self.cloud = cloud
        self.cache_dir = cache_dir

    def build(self, service: DesiredService) -> Artifact:
        from fastfn.deploy.image.buildah import build_image, push_image
        from fastfn.localcloud.registry import local_reference
        from fastfn.manifest import ManifestError, load

        if not service.source_dir.is_dir():
            raise BuildError(f"{service.source_dir} is not a directory")
        try:
            manifest = load(service.source_dir)
        except ManifestError as exc:
            raise BuildError(str(exc)) from None
        stage = None if service.stage == "default" else service.stage
        built = build_image(service.source_dir, manifest, service.function.image,
                            stage=stage, cache_dir=self.cache_dir)
        pushed = push_image(built.reference,
                            local_reference(service.function.image, self.cloud.registry),
                            is_index=built.is_index)
        digest = pushed.rsplit("@", 1)[1]
        log.info("image pushed", extra={"image": service.function.image, "digest": digest})
        return Artifact(image=service.function.image, digest=digest)

    def push(self, step: Push) -> None:
        return None  # pushed by build(): the digest is the registry's


BUILDERS = ("source", "image")


def local_cloud_target(state_dir: Path, registry: str = "local.ocir.io/fastfn",
                       endpoint: str | None = None,
                       build: str | None = None) -> OciFunctionsTarget:
    """The local cloud running on `state_dir` (`fastfn cloud up --state-dir ...`);
    `build`: "source" (directory snapshots) or "image" (buildah + the registry)."""
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
    build = build or os.environ.get("FASTFN_LOCAL_BUILD") or "source"
    if build not in BUILDERS:
        raise TargetError(f"build={build!r}: one of {', '.join(BUILDERS)}")
    builder = RegistryImageBuilder(cloud) if build == "image" else LocalImageBuilder(cloud)
    return OciFunctionsTarget(config, settings, builder,
                              endpoint=endpoint, poll_interval_s=0.2)
