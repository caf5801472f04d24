"""The local cloud as an OCI Functions target: the same SDK calls, pointed at the cloud
`fastfn cloud up` serves, with its image store as the registry.

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


def local_cloud_target(state_dir: Path, registry: str = "local.ocir.io/fastfn",
                       endpoint: str | None = None) -> OciFunctionsTarget:
    """The local cloud running on `state_dir` (`fastfn cloud up --state-dir ...`)."""
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
    return OciFunctionsTarget(config, settings, LocalImageBuilder(cloud),
                              endpoint=endpoint, poll_interval_s=0.2)
