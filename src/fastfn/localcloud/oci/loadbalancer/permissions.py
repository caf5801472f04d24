"""Load Balancer operations -> permissions (Oracle's "Details for Load Balancing": one
type, load-balancers; backend and backend-set changes and listeners are `use`
(LOAD_BALANCER_UPDATE); the health GETs are checked as LOAD_BALANCER_READ, unverified).
Everything is checked in the load balancer's compartment. Denials are 404
NotAuthorizedOrNotFound.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from fastfn.localcloud.oci.core.authz import Rule, Target, in_body, in_query, stored
from fastfn.localcloud.oci.loadbalancer.models import LOAD_BALANCER, WORK_REQUEST

V = "/20170115"
LB = V + "/loadBalancers/{id}"
BS = LB + "/backendSets/{bs}"
BE = BS + "/backends/{name}"
_lb = stored(LOAD_BALANCER)


async def _work_request(service: Any, request: Request) -> Target | None:
    work = service.ctx.store.get(WORK_REQUEST, request.path_params.get("id", ""))
    lb = service.ctx.store.get(LOAD_BALANCER, work["loadBalancerId"]) if work else None
    return None if lb is None else Target(lb["compartmentId"])


def _on_lb(op: str, perm: str) -> Rule:
    return Rule(op, "load-balancers", (perm,), _lb)


RULES: dict[str, Rule] = {
    f"POST {V}/loadBalancers": Rule("CreateLoadBalancer", "load-balancers",
                                    ("LOAD_BALANCER_CREATE",), in_body()),
    f"GET {V}/loadBalancers": Rule("ListLoadBalancers", "load-balancers",
                                   ("LOAD_BALANCER_INSPECT",), in_query()),
    f"GET {LB}": _on_lb("GetLoadBalancer", "LOAD_BALANCER_READ"),
    f"DELETE {LB}": _on_lb("DeleteLoadBalancer", "LOAD_BALANCER_DELETE"),
    f"POST {LB}/backendSets": _on_lb("CreateBackendSet", "LOAD_BALANCER_UPDATE"),
    f"GET {LB}/backendSets": _on_lb("ListBackendSets", "LOAD_BALANCER_READ"),
    f"POST {LB}/listeners": _on_lb("CreateListener", "LOAD_BALANCER_UPDATE"),
    f"GET {LB}/workRequests": _on_lb("ListWorkRequests", "LOAD_BALANCER_READ"),
    f"GET {BS}": _on_lb("GetBackendSet", "LOAD_BALANCER_READ"),
    f"GET {BS}/health": _on_lb("GetBackendSetHealth", "LOAD_BALANCER_READ"),
    f"POST {BS}/backends": _on_lb("CreateBackend", "LOAD_BALANCER_UPDATE"),
    f"GET {BS}/backends": _on_lb("ListBackends", "LOAD_BALANCER_READ"),
    f"GET {BE}": _on_lb("GetBackend", "LOAD_BALANCER_READ"),
    f"PUT {BE}": _on_lb("UpdateBackend", "LOAD_BALANCER_UPDATE"),
    f"DELETE {BE}": _on_lb("DeleteBackend", "LOAD_BALANCER_UPDATE"),
    f"GET {BE}/health": _on_lb("GetBackendHealth", "LOAD_BALANCER_READ"),
    f"GET {V}/loadBalancerWorkRequests/{{id}}": Rule(
        "GetWorkRequest", "load-balancers", ("LOAD_BALANCER_READ",), _work_request),
}
