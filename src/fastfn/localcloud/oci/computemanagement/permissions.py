"""Compute Management (instance pools) operations -> permissions (Oracle's core services
reference; AttachLoadBalancer is not in its tables: checked as INSTANCE_POOL_UPDATE,
unverified). CreateInstancePool's extra needs (manage instances, read instance-images, use
vnics and subnets) are left out. A work request is checked with the read permission of the
pool that made it. Denials are 404 NotAuthorizedOrNotFound.
"""

from __future__ import annotations

from fastfn.localcloud.oci.computemanagement.models import INSTANCE_POOL, WORK_REQUEST
from fastfn.localcloud.oci.core.authz import Rule, in_body, in_query, stored

V = "/20160918"
P = V + "/instancePools/{id}"
_pool = stored(INSTANCE_POOL)

RULES: dict[str, Rule] = {
    f"POST {V}/instancePools": Rule("CreateInstancePool", "instance-pools",
                                    ("INSTANCE_POOL_CREATE",), in_body()),
    f"GET {V}/instancePools": Rule("ListInstancePools", "instance-pools",
                                   ("INSTANCE_POOL_INSPECT",), in_query()),
    f"GET {P}": Rule("GetInstancePool", "instance-pools", ("INSTANCE_POOL_READ",), _pool),
    f"PUT {P}": Rule("UpdateInstancePool", "instance-pools", ("INSTANCE_POOL_UPDATE",), _pool),
    f"GET {P}/instances": Rule("ListInstancePoolInstances", "instance-pools",
                               ("INSTANCE_POOL_READ",), _pool),
    f"POST {P}/actions/detachInstance": Rule("DetachInstancePoolInstance", "instance-pools",
                                             ("INSTANCE_POOL_INSTANCE_DETACH",), _pool),
    f"POST {P}/actions/attachLoadBalancer": Rule("AttachLoadBalancer", "instance-pools",
                                                 ("INSTANCE_POOL_UPDATE",), _pool),
    f"GET {V}/workRequests/{{id}}": Rule("GetWorkRequest", "instance-pools",
                                         ("INSTANCE_POOL_READ",), stored(WORK_REQUEST)),
}
