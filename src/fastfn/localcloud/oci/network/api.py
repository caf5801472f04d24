"""Virtual Network routes, read-only over the tenancy file's resources."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fastfn.localcloud.oci.core.errors import invalid, not_found
from fastfn.localcloud.oci.core.listing import docs_get, docs_list, paginated
from fastfn.localcloud.oci.tenancy import Tenancy

V = "/20160918"
_KINDS = (("vcns", "vcn"), ("subnets", "subnet"), ("routeTables", "routeTable"),
          ("serviceGateways", "serviceGateway"), ("natGateways", "natGateway"),
          ("internetGateways", "internetGateway"), ("securityLists", "securityList"),
          ("networkSecurityGroups", "networkSecurityGroup"))


class NetworkApi:
    def __init__(self, tenancy: Tenancy) -> None:
        self.tenancy = tenancy

    async def nsg_security_rules(self, request: Request) -> Response:
        nsg_id = request.path_params["id"]
        if nsg_id not in self.tenancy.nsg_rules:
            raise not_found("network security group")
        direction = request.query_params.get("direction")
        if direction and direction not in ("EGRESS", "INGRESS"):
            raise invalid("direction must be EGRESS or INGRESS.")
        rules = [r for r in self.tenancy.nsg_rules[nsg_id]
                 if not direction or r.get("direction") == direction]
        return paginated(request, rules)

    def routes(self) -> list[Route]:
        services = self.tenancy.by_kind["service"]
        routes = [
            Route(V + "/networkSecurityGroups/{id}/securityRules", self.nsg_security_rules,
                  methods=["GET"]),
            Route(V + "/services", docs_list(services, needs_compartment=False, filters=()),
                  methods=["GET"]),
            Route(V + "/services/{id}", docs_get(services, "service"), methods=["GET"]),
        ]
        for path, kind in _KINDS:
            docs = self.tenancy.by_kind[kind]
            routes.append(Route(f"{V}/{path}", docs_list(docs), methods=["GET"]))
            routes.append(Route(f"{V}/{path}/{{id}}", docs_get(docs, kind), methods=["GET"]))
        return routes
