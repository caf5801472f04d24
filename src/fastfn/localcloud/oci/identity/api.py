"""Identity routes, read-only over the tenancy file's resources."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fastfn.localcloud.oci.core.errors import missing, not_found
from fastfn.localcloud.oci.core.ids import ocid
from fastfn.localcloud.oci.core.listing import docs_get, docs_list, drop_none, narrow, paginated
from fastfn.localcloud.oci.core.wire import json_response
from fastfn.localcloud.oci.tenancy import Tenancy, region_key

V = "/20160918"


class IdentityApi:
    def __init__(self, tenancy: Tenancy) -> None:
        self.tenancy = tenancy

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
        return routes
