"""Functions' work requests (API 20260325): create, update and delete answer with an
opc-work-request-id that WorkRequestManagementClient follows. Locally the work is done by
the time we answer, so the work request is born SUCCEEDED."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from fastfn.localcloud.oci.core.context import CloudContext
from fastfn.localcloud.oci.core.errors import missing, not_found
from fastfn.localcloud.oci.core.ids import now, ocid, rfc3339
from fastfn.localcloud.oci.core.listing import page
from fastfn.localcloud.oci.core.wire import empty_response, json_response
from fastfn.localcloud.oci.functions.models import NEW_API, WORK_REQUEST


class WorkRequests:
    ctx: CloudContext



    def _work_request(self, operation: str, compartment_id: str, entity_type: str,
                      action: str, identifier: str) -> str:
        stamp = rfc3339(now())
        work = {
            "id": ocid("fnworkrequest", self.ctx.identity.region),
            "operationType": operation, "status": "SUCCEEDED",
            "compartmentId": compartment_id, "percentComplete": 100.0,
            "resources": [{"entityType": entity_type, "actionType": action,
                           "identifier": identifier,
                           "entityUri": f"/{NEW_API}/{entity_type}s/{identifier}"}],
            "timeAccepted": stamp, "timeStarted": stamp, "timeFinished": stamp,
            "timeUpdated": stamp,
        }
        self.ctx.store.put(WORK_REQUEST, work["id"], work, parent=compartment_id,
                           name=stamp)
        return str(work["id"])


    def _changed(self, request: Request, version: str, body: dict[str, Any] | None,
                 work: str, etag: str | None = None) -> Response:
        """The answer to an update or delete, in the version's shape."""
        headers = {"etag": etag} if etag else {}
        if version == NEW_API:
            return empty_response(request, 202, {**headers, "opc-work-request-id": work})
        if body is None:
            return empty_response(request, 204)
        return json_response(request, body, headers=headers)


    async def get_work_request(self, request: Request) -> Response:
        work = self.ctx.store.get(WORK_REQUEST, request.path_params["id"])
        if work is None:
            raise not_found("work request")
        return json_response(request, work)


    async def list_work_requests(self, request: Request) -> Response:
        q = request.query_params
        compartment = q.get("compartmentId")
        if not compartment:
            raise missing("compartmentId")
        items = self.ctx.store.find(WORK_REQUEST, parent=compartment)
        if q.get("workRequestId"):
            items = [w for w in items if w["id"] == q["workRequestId"]]
        if q.get("status"):
            items = [w for w in items if w["status"] == q["status"]]
        if q.get("resourceId"):
            items = [w for w in items
                     if any(r["identifier"] == q["resourceId"] for r in w["resources"])]
        chunk, headers = page(request, items)
        return json_response(request, {"items": chunk}, headers=headers)  # a collection


    async def work_request_details(self, request: Request) -> Response:
        if self.ctx.store.get(WORK_REQUEST, request.path_params["id"]) is None:
            raise not_found("work request")
        return json_response(request, {"items": []})
