"""The local cloud's container registry (the local OCIR): Debian's docker-registry.

    registry = LocalRegistry(state_dir / "registry").start()   # 127.0.0.1:<free port>
    registry.address                                           # "127.0.0.1:41234"
    local_reference("fra.ocir.io/ns/items:1", registry.address)  # "127.0.0.1:41234/ns/items:1"
    registry.stop()

A real OCI distribution registry (the CNCF one) on loopback, plain HTTP, no auth, its
blobs under `<state dir>/registry/data` (they survive restarts), its config generated
into `<state dir>/registry/config.yml`. `fastfn cloud up` starts it beside the API and
records its address in the cloud's endpoint file (`RunningCloud.registry`); buildah and
skopeo push to it (`--tls-verify=false`), and pull from it.

OCIR's names map one to one: `<region-key>.ocir.io/<namespace>/<repo>` is
`<address>/<namespace>/<repo>` here, the repository path kept whole (OCIR repositories
may contain `/`). Which compartment a repository belongs to is the Artifacts API's
record, not the registry's (OCIR itself stores no compartment in the path).
"""

from fastfn.localcloud.registry.server import (
    LocalRegistry,
    RegistryMissing,
    local_reference,
    ocir_parts,
)

__all__ = ["LocalRegistry", "RegistryMissing", "local_reference", "ocir_parts"]
