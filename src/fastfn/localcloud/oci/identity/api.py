"""Identity routes: reads over the tenancy file's resources, and creating, updating and
deleting policies and dynamic groups (kept by identity/policies.py)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fastfn.localcloud.oci.core.errors import invalid, missing, not_found
from fastfn.localcloud.oci.core.ids import ocid
from fastfn.localcloud.oci.core.listing import (
    docs_get,
    docs_list,
    drop_none,
    filter_by,
    narrow,
    paginated,
)
from fastfn.localcloud.oci.core.wire import Wire, empty_response, json_response, parse_body
from fastfn.localcloud.oci.identity.policies import (
    DYNAMIC_GROUP,
    POLICY,
    CreatedIam,
    check_matching_rule,
    check_statements,
)
from fastfn.localcloud.oci.tenancy import Tenancy, region_key

V = "/20160918"


class CreatePolicyDetails(Wire):
    compartment_id: str
    name: str
    statements: list[str]
    description: str = ""
    freeform_tags: dict[str, str] = {}
    defined_tags: dict[str, dict[str, Any]] = {}


class UpdatePolicyDetails(Wire):
    statements: list[str] | None = None
    description: str | None = None


class CreateDynamicGroupDetails(Wire):
    compartment_id: str
    name: str
    matching_rule: str
    description: str = ""


class UpdateDynamicGroupDetails(Wire):
    matching_rule: str | None = None
    description: str | None = None


class IdentityApi:
    def __init__(self, tenancy: Tenancy, created: CreatedIam | None = None) -> None:
        self.tenancy = tenancy
        self.created = created

    def _writes(self) -> CreatedIam:
        if self.created is None:
            raise invalid("This cloud's identity is read-only.")
        return self.created

    def _named(self, name: str) -> str:
        if not name or len(name) > 100 or not all(c.isalnum() or c in "-_." for c in name):
            raise invalid("name must be 1 to 100 letters, digits, '-', '_' or '.'.")
        return name

    async def create_policy(self, request: Request) -> Response:
        details = await parse_body(request, CreatePolicyDetails)
        if not self.tenancy.ctx.compartment_exists(details.compartment_id) and \
                details.compartment_id != self.tenancy.tenancy["id"]:
            raise not_found("compartment")
        doc = self._writes().create(POLICY, {
            "compartmentId": details.compartment_id, "name": self._named(details.name),
            "statements": check_statements(details.statements),
            "description": details.description or details.name,
            "freeformTags": details.freeform_tags, "definedTags": details.defined_tags})
        return json_response(request, doc)

    def _update(self, request: Request, kind: str, label: str,
                changes: dict[str, Any]) -> Response:
        """An update applies only the fields the request names (None: left as it is)."""
        doc = self._writes().update(kind, request.path_params["id"],
                                    {k: v for k, v in changes.items() if v is not None})
        if doc is None:
            raise not_found(label)
        return json_response(request, doc)

    def _delete(self, request: Request, kind: str, label: str) -> Response:
        if not self._writes().delete(kind, request.path_params["id"]):
            raise not_found(label)
        return empty_response(request)

    async def update_policy(self, request: Request) -> Response:
        details = await parse_body(request, UpdatePolicyDetails)
        return self._update(request, POLICY, "policy", {
            "statements": None if details.statements is None
            else check_statements(details.statements),
            "description": details.description})

    async def delete_policy(self, request: Request) -> Response:
        return self._delete(request, POLICY, "policy")

    async def create_dynamic_group(self, request: Request) -> Response:
        details = await parse_body(request, CreateDynamicGroupDetails)
        if details.compartment_id != self.tenancy.tenancy["id"]:
            raise invalid("compartmentId: dynamic groups live in the tenancy (root).")
        doc = self._writes().create(DYNAMIC_GROUP, {
            "compartmentId": details.compartment_id, "name": self._named(details.name),
            "matchingRule": check_matching_rule(details.matching_rule),
            "description": details.description or details.name})
        return json_response(request, doc)

    async def update_dynamic_group(self, request: Request) -> Response:
        details = await parse_body(request, UpdateDynamicGroupDetails)
        return self._update(request, DYNAMIC_GROUP, "dynamic group", {
            "matchingRule": None if details.matching_rule is None
            else check_matching_rule(details.matching_rule),
            "description": details.description})

    async def delete_dynamic_group(self, request: Request) -> Response:
        return self._delete(request, DYNAMIC_GROUP, "dynamic group")

    async def get_tenancy(self, request: Request) -> Response:
        root = self.tenancy.tenancy
        if request.path_params["id"] != root["id"]:
            raise not_found("tenancy")
        return json_response(request, root)

    async def get_compartment(self, request: Request) -> Response:
        root = self.tenancy.tenancy
        if request.path_params["id"] == root["id"]:
            # The root compartment is the tenancy.
            return json_response(request, {
                "id": root["id"], "name": root["name"], "description": root["description"],
                "timeCreated": self.tenancy.stamp, "lifecycleState": "ACTIVE",
                "isAccessible": True, "freeformTags": {}, "definedTags": {}})
        return await docs_get(self.tenancy.by_kind["compartment"], "compartment")(request)

    async def list_compartments(self, request: Request) -> Response:
        q = request.query_params
        compartment = q.get("compartmentId")
        if not compartment:
            raise missing("compartmentId")
        docs = self.tenancy.by_kind["compartment"]
        if q.get("compartmentIdInSubtree") == "true":
            docs = [d for d in docs if self._in_subtree(d, compartment)]
        else:
            docs = [d for d in docs if d.get("compartmentId") == compartment]
        return paginated(request, [drop_none(d) for d in narrow(docs, q, ())])

    def _in_subtree(self, doc: dict[str, str], root: str) -> bool:
        parents = {c["id"]: c["compartmentId"] for c in self.tenancy.by_kind["compartment"]}
        current: str | None = doc["compartmentId"]
        while current is not None:
            if current == root:
                return True
            current = parents.get(current)
        return False

    async def region_subscriptions(self, request: Request) -> Response:
        if request.path_params["id"] != self.tenancy.tenancy["id"]:
            raise not_found("tenancy")
        region = self.tenancy.ctx.identity.region
        return json_response(request, [{"regionKey": region_key(region), "regionName": region,
                                        "status": "READY", "isHomeRegion": True}])

    async def list_regions(self, request: Request) -> Response:
        import oci.regions  # the region table the SDK ships; only read here

        names = sorted({name for key, name in oci.regions.REGIONS_SHORT_NAMES.items()
                        if len(key) == 3} | {self.tenancy.ctx.identity.region})
        return json_response(request, [{"key": region_key(n), "name": n} for n in names])

    async def list_memberships(self, request: Request) -> Response:
        q = request.query_params
        if not q.get("compartmentId"):
            raise missing("compartmentId")
        if q["compartmentId"] != self.tenancy.tenancy["id"]:
            raise invalid("compartmentId must be the tenancy's OCID (the root compartment).")
        found = filter_by(self.tenancy.memberships(), q,
                          {"userId": "userId", "groupId": "groupId"})
        return paginated(request, found)

    async def get_membership(self, request: Request) -> Response:
        for doc in self.tenancy.memberships():
            if doc["id"] == request.path_params["id"]:
                return json_response(request, doc)
        raise not_found("user group membership")

    async def availability_domains(self, request: Request) -> Response:
        if not request.query_params.get("compartmentId"):
            raise missing("compartmentId")
        region = self.tenancy.ctx.identity.region
        return json_response(request, [
            {"name": f"LOCL:{region.upper()}-AD-1",
             "id": ocid("availabilitydomain", region, seed=region),
             "compartmentId": self.tenancy.tenancy["id"]}])

    def routes(self) -> list[Route]:
        routes = [
            Route(V + "/tenancies/{id}", self.get_tenancy, methods=["GET"]),
            Route(V + "/tenancies/{id}/regionSubscriptions", self.region_subscriptions,
                  methods=["GET"]),
            Route(V + "/regions", self.list_regions, methods=["GET"]),
            Route(V + "/userGroupMemberships", self.list_memberships, methods=["GET"]),
            Route(V + "/userGroupMemberships/{id}", self.get_membership, methods=["GET"]),
            Route(V + "/availabilityDomains", self.availability_domains, methods=["GET"]),
            Route(V + "/availabilityDomains/", self.availability_domains, methods=["GET"]),
            Route(V + "/compartments/{id}", self.get_compartment, methods=["GET"]),
            Route(V + "/compartments", self.list_compartments, methods=["GET"]),
        ]
        for path, kind in (("users", "user"), ("groups", "group"),
                           ("dynamicGroups", "dynamicGroup"), ("policies", "policy")):
            docs = self.tenancy.by_kind[kind]
            routes.append(Route(f"{V}/{path}", docs_list(docs), methods=["GET"]))
            routes.append(Route(f"{V}/{path}/{{id}}", docs_get(docs, kind), methods=["GET"]))
        routes += [
            Route(V + "/policies", self.create_policy, methods=["POST"]),
            Route(V + "/policies/{id}", self.update_policy, methods=["PUT"]),
            Route(V + "/policies/{id}", self.delete_policy, methods=["DELETE"]),
            Route(V + "/dynamicGroups", self.create_dynamic_group, methods=["POST"]),
            Route(V + "/dynamicGroups/{id}", self.update_dynamic_group, methods=["PUT"]),
            Route(V + "/dynamicGroups/{id}", self.delete_dynamic_group, methods=["DELETE"]),
        ]
        return routes
