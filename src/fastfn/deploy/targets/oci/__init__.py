"""OCI Functions as a deploy target: `target.py` (the Target), `observe.py` (read-only
calls), `apply.py` (one call per operation, followed to its end), `local.py` (the local
cloud as this target)."""

from __future__ import annotations

from fastfn.deploy.targets.oci.local import LocalImageBuilder, local_cloud_target
from fastfn.deploy.targets.oci.target import OciFunctionsTarget, oci_target

__all__ = ["LocalImageBuilder", "OciFunctionsTarget", "local_cloud_target", "oci_target"]
