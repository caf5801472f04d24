"""OCI Functions as a deploy target: `models.py` (an application holding one function),
`plan.py` (the planner), `target.py` (the Target), `observe.py` (read-only calls),
`apply.py` (one call per operation, followed to its end), `local.py` (the local cloud as
this target)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastfn.deploy.errors import TargetError
from fastfn.deploy.targets.oci.local import LocalImageBuilder, local_cloud_target
from fastfn.deploy.targets.oci.target import OciFunctionsTarget, oci_target

if TYPE_CHECKING:
    from fastfn.deploy.targets.base import TargetOptions


def from_options(options: TargetOptions) -> OciFunctionsTarget:
    """Real OCI with an oci config profile (compartment and subnets required), else the
    local cloud on `options.cloud_state`."""
    if options.profile:
        if not options.compartment or not options.subnets:
            raise TargetError("a deploy to real OCI (--profile) needs --compartment and "
                              "--subnet")
        return oci_target(options.profile, options.compartment, options.subnets,
                          options.image, options.config_file, options.nsgs)
    return local_cloud_target(options.cloud_state, build=options.settings.get("build"))


__all__ = ["LocalImageBuilder", "OciFunctionsTarget", "from_options", "local_cloud_target",
           "oci_target"]
