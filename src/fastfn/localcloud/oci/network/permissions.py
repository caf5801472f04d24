"""Virtual Network reads -> permissions (Oracle's core services reference: `inspect`
gives each type's *_READ; NAT gateways and NSGs need `read`, an NSG's rules `use`).
ListServices needs no permission. Denials are 404 NotAuthorizedOrNotFound.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from fastfn.localcloud.oci.core.authz import Rule, Target, in_query

V = "/20160918"

# path, tenancy kind, operation noun, resource type, permission
_TYPES = (
    ("vcns", "vcn", "Vcn", "vcns", "VCN_READ"),
    ("subnets", "subnet", "Subnet", "subnets", "SUBNET_READ"),
    ("routeTables", "routeTable", "RouteTable", "route-tables", "ROUTE_TABLE_READ"),
    ("serviceGateways", "serviceGateway", "ServiceGateway", "service-gateways",
     "SERVICE_GATEWAY_READ"),
    ("natGateways", "natGateway", "NatGateway", "nat-gateways", "NAT_GATEWAY_READ"),
    ("internetGateways", "internetGateway", "InternetGateway", "internet-gateways",
     "INTERNET_GATEWAY_READ"),
    ("securityLists", "securityList", "SecurityList", "security-lists", "SECURITY_LIST_READ"),
    ("networkSecurityGroups", "networkSecurityGroup", "NetworkSecurityGroup",
     "network-security-groups", "NETWORK_SECURITY_GROUP_READ"),
)


def _doc(kind: str) -> Any:
    async def resolve(service: Any, request: Request) -> Target | None:
        wanted = request.path_params.get("id")
        for doc in service.tenancy.by_kind[kind]:
            if doc["id"] == wanted:
                return Target(doc["compartmentId"])
        return None
    return resolve


RULES: dict[str, Rule] = {
    f"GET {V}/services": Rule("ListServices", "services", (), None),
    f"GET {V}/services/{{id}}": Rule("GetService", "services", (), None),
    f"GET {V}/networkSecurityGroups/{{id}}/securityRules": Rule(
        "ListNetworkSecurityGroupSecurityRules", "network-security-groups",
        ("NETWORK_SECURITY_GROUP_LIST_SECURITY_RULES",), _doc("networkSecurityGroup")),
}
for _path, _kind, _noun, _rtype, _perm in _TYPES:
    RULES[f"GET {V}/{_path}"] = Rule(f"List{_noun}s", _rtype, (_perm,), in_query())
    RULES[f"GET {V}/{_path}/{{id}}"] = Rule(f"Get{_noun}", _rtype, (_perm,), _doc(_kind))
