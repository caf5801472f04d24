"""Identity reads (and the policy/dynamic-group writes) -> permissions (Oracle's "Details
for IAM"). The tenancy, users, groups, dynamic groups and policies live in the root
compartment; a compartment's own reads are checked in its parent. Denials are 404
NotAuthorizedOrNotFound. ListAvailabilityDomains and ListRegionSubscriptions are checked as
TENANCY_INSPECT (unverified). ListRegions needs no permission (any authenticated caller).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from fastfn.localcloud.oci.core.authz import Rule, Target, in_body, in_query

V = "/20160918"


async def _root(service: Any, request: Request) -> Target | None:
    return Target(service.tenancy.ctx.identity.tenancy_id)


def _doc(kind: str) -> Any:
    async def resolve(service: Any, request: Request) -> Target | None:
        wanted = request.path_params.get("id")
        for doc in service.tenancy.by_kind[kind]:
            if doc["id"] == wanted:
                return Target(doc["compartmentId"], {f"target.{kind.lower()}.name":
                                                     str(doc.get("name", ""))})
        return None
    return resolve


RULES: dict[str, Rule] = {
    f"GET {V}/tenancies/{{id}}": Rule("GetTenancy", "tenancies", ("TENANCY_INSPECT",), _root),
    f"GET {V}/tenancies/{{id}}/regionSubscriptions": Rule(
        "ListRegionSubscriptions", "tenancies", ("TENANCY_INSPECT",), _root),
    f"GET {V}/regions": Rule("ListRegions", "tenancies", (), None),
    f"GET {V}/userGroupMemberships": Rule("ListUserGroupMemberships", "groups",
                                          ("GROUP_INSPECT",), in_query()),
    f"GET {V}/userGroupMemberships/{{id}}": Rule("GetUserGroupMembership", "groups",
                                                 ("GROUP_INSPECT",), _root),
    f"GET {V}/availabilityDomains": Rule("ListAvailabilityDomains", "tenancies",
                                         ("TENANCY_INSPECT",), _root),
    f"GET {V}/availabilityDomains/": Rule("ListAvailabilityDomains", "tenancies",
                                          ("TENANCY_INSPECT",), _root),
    f"GET {V}/compartments/{{id}}": Rule("GetCompartment", "compartments",
                                         ("COMPARTMENT_INSPECT",), _doc("compartment")),
    f"GET {V}/compartments": Rule("ListCompartments", "compartments",
                                  ("COMPARTMENT_INSPECT",), in_query()),
    f"GET {V}/users": Rule("ListUsers", "users", ("USER_INSPECT",), in_query()),
    f"GET {V}/users/{{id}}": Rule("GetUser", "users", ("USER_INSPECT",), _doc("user")),
    f"GET {V}/groups": Rule("ListGroups", "groups", ("GROUP_INSPECT",), in_query()),
    f"GET {V}/groups/{{id}}": Rule("GetGroup", "groups", ("GROUP_INSPECT",), _doc("group")),
    f"GET {V}/dynamicGroups": Rule("ListDynamicGroups", "dynamic-groups",
                                   ("DYNAMIC_GROUP_INSPECT",), in_query()),
    f"GET {V}/dynamicGroups/{{id}}": Rule("GetDynamicGroup", "dynamic-groups",
                                          ("DYNAMIC_GROUP_INSPECT",), _doc("dynamicGroup")),
    f"POST {V}/dynamicGroups": Rule("CreateDynamicGroup", "dynamic-groups",
                                    ("DYNAMIC_GROUP_CREATE",), _root),
    f"PUT {V}/dynamicGroups/{{id}}": Rule("UpdateDynamicGroup", "dynamic-groups",
                                          ("DYNAMIC_GROUP_UPDATE",), _doc("dynamicGroup")),
    f"DELETE {V}/dynamicGroups/{{id}}": Rule("DeleteDynamicGroup", "dynamic-groups",
                                             ("DYNAMIC_GROUP_DELETE",),
                                             _doc("dynamicGroup")),
    f"GET {V}/policies": Rule("ListPolicies", "policies", ("POLICY_READ",), in_query()),
    f"GET {V}/policies/{{id}}": Rule("GetPolicy", "policies", ("POLICY_READ",),
                                     _doc("policy")),
    f"POST {V}/policies": Rule("CreatePolicy", "policies", ("POLICY_CREATE",), in_body()),
    f"PUT {V}/policies/{{id}}": Rule("UpdatePolicy", "policies", ("POLICY_UPDATE",),
                                     _doc("policy")),
    f"DELETE {V}/policies/{{id}}": Rule("DeletePolicy", "policies", ("POLICY_DELETE",),
                                        _doc("policy")),
}
