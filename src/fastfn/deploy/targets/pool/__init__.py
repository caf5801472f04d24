"""An OCI instance pool behind a load balancer as a deploy target (seed 002).

`outputs.py` (the 21 Terraform outputs, read from the state object), `models.py` (the
stage's desired settings), `observe.py` (read-only calls), `rollout.py` (the rolling
update as typed steps, port checks), `apply.py` (one step, followed to its end; the
automatic rollback), `configuration.py` (the new instance configuration and its
cloud-init), `vnic.py` (which VNIC is the backend), `container.py` (the container file),
`local.py` (the local cloud as this target, and the local stack Terraform would make),
`target.py` (the Target).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastfn.deploy.targets.pool.target import PoolTarget, local_pool_target, oci_pool_target

if TYPE_CHECKING:
    from fastfn.deploy.targets.base import TargetOptions



def from_options(options: TargetOptions) -> PoolTarget:
    """Real OCI with an oci config profile (`--image` the pushed image by digest), else
    the local cloud on `options.cloud_state`. `--set` overrides `pool:` keys."""
    overrides = dict(options.settings)
    if options.profile:
        return oci_pool_target(options.profile, options.image, options.config_file,
                               options.region, options.compartment, overrides=overrides)
    return local_pool_target(options.cloud_state, overrides=overrides)


__all__ = ["PoolTarget", "from_options", "local_pool_target", "oci_pool_target"]
