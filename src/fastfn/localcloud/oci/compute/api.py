"""Instance configurations (Compute Management API, 20160918): create, get, list, delete.

A configuration is immutable once created, as in OCI; pools launch new instances from the
configuration they hold at that moment, so changing a pool's configuration affects only
instances launched afterwards.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fastfn.localcloud.oci.compute.models import (
    INSTANCE_CONFIGURATION,
    MAX_METADATA_BYTES,
    CreateInstanceConfigurationDetails,
    metadata_size,
)
from fastfn.localcloud.oci.core.context import CloudContext
from fastfn.localcloud.oci.core.errors import OCIError, invalid, missing, not_found
from fastfn.localcloud.oci.core.ids import now, ocid, rfc3339
from fastfn.localcloud.oci.core.listing import drop_none, narrow, paginated, sort_items, summary
from fastfn.localcloud.oci.core.wire import empty_response, json_response, parse_body

log = logging.getLogger("fastfn.localcloud.oci.compute")

V = "/20160918"
_SUMMARY = ("id", "compartmentId", "displayName", "timeCreated", "freeformTags",
            "definedTags")


class InstanceConfigurations:
    def __init__(self, ctx: CloudContext) -> None:
        self.ctx = ctx

    def get(self, configuration_id: str) -> dict[str, Any]:
        doc = self.ctx.store.get(INSTANCE_CONFIGURATION, configuration_id)
        if doc is None:
            raise not_found("instance configuration")
        return doc

    async def create(self, request: Request) -> Response:
        details = await parse_body(request, CreateInstanceConfigurationDetails)
        if not self.ctx.compartment_exists(details.compartment_id):
            raise OCIError(400, "RelatedResourceNotAuthorizedOrNotFound",
                           f"Compartment {details.compartment_id} not found.")
        launch = details.instance_details.launch_details
        if launch is not None and metadata_size(launch) > MAX_METADATA_BYTES:
            raise invalid("instanceDetails.launchDetails.metadata is larger than 32 KB.")
        doc = {
            "id": ocid("instanceconfiguration", self.ctx.identity.region),
            "compartmentId": details.compartment_id,
            "displayName": details.display_name or "instanceconfiguration" + rfc3339(now()),
            "instanceDetails": details.instance_details.wire(),
            "freeformTags": details.freeform_tags or {},
            "definedTags": details.defined_tags or {},
            "timeCreated": rfc3339(now()),
        }
        self.ctx.store.put(INSTANCE_CONFIGURATION, doc["id"], doc,
                           parent=details.compartment_id, name=doc["displayName"])
        log.info("instance configuration created", extra={"id": doc["id"]})
        return json_response(request, doc, headers={"etag": doc["id"]})

    async def read(self, request: Request) -> Response:
        return json_response(request, drop_none(self.get(request.path_params["id"])))

    async def list(self, request: Request) -> Response:
        compartment = request.query_params.get("compartmentId")
        if not compartment:
            raise missing("compartmentId")
        docs = self.ctx.store.find(INSTANCE_CONFIGURATION, parent=compartment)
        docs = sort_items(request, narrow(docs, request.query_params, ()))
        return paginated(request, [summary(d, _SUMMARY) for d in docs])

    async def delete(self, request: Request) -> Response:
        if not self.ctx.store.delete(INSTANCE_CONFIGURATION, request.path_params["id"]):
            raise not_found("instance configuration")
        return empty_response(request)

    def routes(self) -> list[Route]:
        return [
            Route(V + "/instanceConfigurations", self.create, methods=["POST"]),
            Route(V + "/instanceConfigurations", self.list, methods=["GET"]),
            Route(V + "/instanceConfigurations/{id}", self.read, methods=["GET"]),
            Route(V + "/instanceConfigurations/{id}", self.delete, methods=["DELETE"]),
        ]
