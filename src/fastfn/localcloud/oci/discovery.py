"""Finding a local cloud that serves a state dir, for the CLI and the deployer.

    cloud = running(state_dir)
    if cloud is None: ...  # nothing serves it: `fastfn cloud up --state-dir ...`
    client = oci.functions.FunctionsManagementClient(
        oci.config.from_file(str(cloud.config_file)), service_endpoint=cloud.endpoint)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fastfn.localcloud.oci.core.context import CloudIdentity
from fastfn.localcloud.oci.core.layout import StateLayout
from fastfn.localcloud.oci.images import ImageStore


@dataclass(frozen=True)
class RunningCloud:
    state_dir: Path
    endpoint: str  # http://host:port of the REST server
    proxy_url: str  # the CONNECT proxy for OCI's own host names ("" when off)
    pid: int
    config_file: Path  # oci config, profile DEFAULT
    ca_bundle: Path  # for REQUESTS_CA_BUNDLE with the proxy
    identity: CloudIdentity
    registry: str = ""  # host:port of the local OCIR (docker-registry), "" when none

    @property
    def compartment_id(self) -> str:
        return self.identity.compartment_id

    @property
    def namespace(self) -> str:
        return self.identity.namespace

    @property
    def region(self) -> str:
        return self.identity.region

    def image_store(self) -> ImageStore:
        """The cloud's image store (close with `.store.close()`)."""
        return ImageStore.open(self.state_dir)


def running(state_dir: Path) -> RunningCloud | None:
    """The cloud serving `state_dir`, or None when none has announced itself there.

    Announced means `fastfn cloud up` (or a LocalCloud) wrote its endpoint file; whether
    it still answers is for the caller's first request to find out.
    """
    layout = StateLayout(Path(state_dir))
    try:
        announced = json.loads(layout.endpoint_file.read_text())
        endpoint = str(announced["endpoint"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not layout.identity.exists():
        return None
    return RunningCloud(state_dir=layout.root, endpoint=endpoint,
                        proxy_url=str(announced.get("proxy") or ""),
                        pid=int(announced.get("pid") or 0),
                        config_file=layout.oci_config, ca_bundle=layout.ca_bundle,
                        registry=str(announced.get("registry") or ""),
                        identity=CloudIdentity.load_or_create(layout.root))
