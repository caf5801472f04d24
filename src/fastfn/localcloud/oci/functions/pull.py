"""What the Functions service itself needs before a function can start, when policies are
enforced: the causes of FunctionInvokeImageNotAvailable (PLATFORM_FACTS §4) checked from
the loaded tenancy, in the order the platform meets them.

1. the service may use the application's subnet (`service faas` with SUBNET_ATTACH, i.e.
   `use subnets` / `use virtual-network-family`, in the subnet's compartment), else 502
   FunctionInvokeSubnetNotAvailable;
2. the subnet reaches the registry: a private subnet routes `All <region> Services In
   Oracle Services Network` to a service gateway that serves all services (or 0.0.0.0/0
   to a NAT gateway), a public one 0.0.0.0/0 to an internet gateway; and one of its
   security lists has a stateful egress rule to 0.0.0.0/0 or to all services, protocol
   all (or TCP with 443 in range);
3. the service may read the repository (`service faas` with REPOSITORY_READ in the
   repository's compartment, `target.repo.name` set): earlier Oracle docs' `Allow service
   faas to read repos in tenancy`.
2 and 3 fail as OCI does, 502 FunctionInvokeImageNotAvailable "Failed to pull function
image" (the digest missing from the store is the same error, raised by the runner); the
cause goes to the cloud's log, since OCI's answer does not say. The cloud's own default
subnet stands for a correctly wired one (2 is skipped for it). NSG rules are not checked
(Oracle's text names security lists only).
"""

from __future__ import annotations

import logging
from typing import Any

from fastfn.localcloud.oci.core.authz import Authorizer
from fastfn.localcloud.oci.core.invoke import InvokeFailure
from fastfn.localcloud.oci.tenancy import Tenancy

log = logging.getLogger("fastfn.localcloud.oci.functions")

IMAGE_NOT_AVAILABLE = ("FunctionInvokeImageNotAvailable", "Failed to pull function image")
ANYWHERE = "0.0.0.0/0"


def repository_name(image: str) -> str:
    """`fra.ocir.io/<namespace>/<repo path>:<tag>` (or `@sha256:...`) -> the repo path."""
    ref = image.split("@", 1)[0]
    parts = ref.split("/")
    path = "/".join(parts[2:]) if len(parts) > 2 else parts[-1]
    head, sep, tag = path.rpartition(":")
    return head if sep and "/" not in tag else path


class ImagePullCheck:
    def __init__(self, tenancy: Tenancy, authorizer: Authorizer) -> None:
        self.tenancy = tenancy
        self.authorizer = authorizer

    def _doc(self, kind: str, id: str | None) -> dict[str, Any] | None:
        return next((d for d in self.tenancy.by_kind[kind] if d["id"] == id), None)

    def __call__(self, fn: dict[str, Any], app: dict[str, Any]) -> InvokeFailure | None:
        if not self.authorizer.enforcing:
            return None
        for subnet_id in app.get("subnetIds") or []:
            subnet = self._doc("subnet", subnet_id)
            if subnet is None or not self.authorizer.service_allows(
                    "faas", "AttachSubnet", ("SUBNET_ATTACH",), subnet["compartmentId"],
                    {"target.subnet.id": subnet_id}).allowed:
                log.warning("invoke refused: the Functions service may not use subnet %s "
                            "(a policy `Allow service faas to use virtual-network-family in "
                            "compartment <the subnet's>` is missing)", subnet_id)
                return InvokeFailure(502, "FunctionInvokeSubnetNotAvailable",
                                     f"The subnet {subnet_id} does not exist or Oracle "
                                     "Functions is not authorized to use it")
            cause = None if self._is_default(subnet) else self.network_cause(subnet)
            if cause:
                log.warning("invoke refused: %s: %s", IMAGE_NOT_AVAILABLE[0], cause)
                return InvokeFailure(502, *IMAGE_NOT_AVAILABLE)
        repo = repository_name(fn["sourceDetails"]["image"])
        compartment = self.tenancy.repository_compartment(repo)
        if not self.authorizer.service_allows("faas", "PullImage", ("REPOSITORY_READ",),
                                              compartment, {"target.repo.name": repo}).allowed:
            where = self.tenancy.ctx.compartment_name(compartment) or compartment
            log.warning("invoke refused: %s: the Functions service may not read repository "
                        "%s in compartment %s (no `Allow service faas to read repos in ...`)",
                        IMAGE_NOT_AVAILABLE[0], repo, where)
            return InvokeFailure(502, *IMAGE_NOT_AVAILABLE)
        return None

    def _is_default(self, subnet: dict[str, Any]) -> bool:
        identity = self.tenancy.ctx.identity
        return (subnet.get("displayName") == "local-subnet"
                and subnet["compartmentId"] == identity.compartment_id)

    def network_cause(self, subnet: dict[str, Any]) -> str | None:
        """Why the subnet cannot reach the registry, or None."""
        all_services = next(s for s in self.tenancy.by_kind["service"]
                            if s["cidrBlock"].startswith("all-"))
        table = self._doc("routeTable", subnet.get("routeTableId"))
        rules = (table.get("routeRules") or []) if table else []
        routed = False
        for rule in rules:
            target = rule.get("networkEntityId") or ""
            if subnet.get("prohibitPublicIpOnVnic"):
                sgw = self._doc("serviceGateway", target)
                if (sgw is not None and rule.get("destination") == all_services["cidrBlock"]
                        and not sgw.get("blockTraffic")
                        and any(s["serviceId"] == all_services["id"]
                                for s in sgw.get("services") or [])):
                    routed = True
                if self._doc("natGateway", target) and rule.get("destination") == ANYWHERE:
                    routed = True
            elif self._doc("internetGateway", target) and rule.get("destination") == ANYWHERE:
                routed = True
        if not routed:
            gateway = ("a service gateway for " + all_services["name"]
                       if subnet.get("prohibitPublicIpOnVnic")
                       else "an internet gateway for 0.0.0.0/0")
            return (f"subnet {subnet.get('displayName')} has no route rule to {gateway}")
        for sl_id in subnet.get("securityListIds") or []:
            sl = self._doc("securityList", sl_id) or {}
            if any(_egress_to_registry(r, all_services["cidrBlock"])
                   for r in sl.get("egressSecurityRules") or []):
                return None
        return (f"no security list of subnet {subnet.get('displayName')} has a stateful "
                f"egress rule to {all_services['cidrBlock']} or 0.0.0.0/0 (protocol all)")


def _egress_to_registry(rule: dict[str, Any], all_services: str) -> bool:
    if rule.get("isStateless") or rule.get("destination") not in (ANYWHERE, all_services):
        return False
    protocol = str(rule.get("protocol", "")).lower()
    if protocol == "all":
        return True
    if protocol != "6":
        return False
    ports = (rule.get("tcpOptions") or {}).get("destinationPortRange")
    return not ports or int(ports.get("min", 0)) <= 443 <= int(ports.get("max", 65535))
