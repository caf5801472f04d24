"""CopyObject and the work request it answers with (what `oci os object copy
--wait-for-state COMPLETED` polls). The local cloud has one region, so a copy is done
before the request returns: its work request is COMPLETED at once, or FAILED with its
error kept for `GET /workRequests/{id}/errors`."""

from __future__ import annotations

import uuid
from typing import Any

from fastfn.localcloud.oci.core.errors import OCIError, invalid, missing
from fastfn.localcloud.oci.core.ids import now, ocid, rfc3339
from fastfn.localcloud.oci.objectstorage.backend import Backend, WriteOptions, check_name
from fastfn.localcloud.oci.objectstorage.blobs import Written
from fastfn.localcloud.oci.objectstorage.models import WORK_REQUEST, CopyObjectDetails

Doc = dict[str, Any]

WORK_REQUEST_FIELDS = ("operationType", "status", "id", "compartmentId", "resources",
                       "percentComplete", "timeAccepted", "timeStarted", "timeFinished")


def _no_work_request() -> OCIError:
    return OCIError(404, "NotAuthorizedOrNotFound",
                    "Authorization failed or requested work request not found.")


class Copies:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.store = backend.store

    def copy(self, bucket: Doc, details: CopyObjectDetails) -> Doc:
        """Copy an object; returns the work request (errors after acceptance are the
        work request's, as on OCI)."""
        region = self.backend.ctx.identity.region
        if details.destination_region != region:
            raise invalid(f"destinationRegion {details.destination_region!r} is not a region "
                          f"of this cloud ({region}).")
        source = self.backend.object(bucket, check_name(details.source_object_name),
                                     details.source_version_id,
                                     if_match=details.source_object_if_match_e_tag)
        target_bucket = self.backend.bucket(details.destination_namespace,
                                            details.destination_bucket)
        target = check_name(details.destination_object_name)
        started = rfc3339(now())
        work: Doc = {
            "operationType": "COPY_OBJECT", "status": "COMPLETED",
            "id": ocid("objectstorageworkrequest", region),
            "compartmentId": bucket["compartmentId"], "percentComplete": 100.0,
            "timeAccepted": started, "timeStarted": started, "errors": [],
            "resources": [
                {"actionType": "READ", "entityType": "object", "identifier": source["name"],
                 "entityUri": f"/n/{bucket['namespace']}/b/{bucket['name']}/o/"
                              f"{source['name']}",
                 "metadata": {"NAMESPACE": bucket["namespace"], "BUCKET": bucket["name"],
                              "OBJECT": source["name"], "REGION": region}},
                {"actionType": "WRITTEN", "entityType": "object", "identifier": target,
                 "entityUri": f"/n/{target_bucket['namespace']}/b/{target_bucket['name']}"
                              f"/o/{target}",
                 "metadata": {"NAMESPACE": target_bucket["namespace"],
                              "BUCKET": target_bucket["name"], "OBJECT": target,
                              "REGION": region}},
            ],
        }
        try:
            tier = self.backend.tier_for(target_bucket,
                                         details.destination_object_storage_tier
                                         or source.get("storageTier"))
            self.backend.readable(source)
            meta = (details.destination_object_metadata
                    if details.destination_object_metadata is not None else None)
            content = dict(source.get("content", {}))
            if meta is not None:
                # Given metadata replaces the source's: content-* keys and opc-meta-* keys.
                content = {k: v for k, v in meta.items() if not k.startswith("opc-meta-")}
                user = {k.removeprefix("opc-meta-"): v for k, v in meta.items()
                        if k.startswith("opc-meta-")}
            else:
                user = dict(source.get("meta", {}))
            blob = self.backend.blobs.copy(source["blob"])
            written = Written(blob, source["size"], source["md5"], b"")
            self.backend.store_object(
                target_bucket, target, written,
                WriteOptions(if_match=details.destination_object_if_match_e_tag,
                             if_none_match=details.destination_object_if_none_match_e_tag,
                             content=content, meta=user), tier,
                multipart_md5=source["md5"] if source.get("multipart") else None)
        except OCIError as exc:
            work.update(status="FAILED", percentComplete=0.0)
            work["errors"] = [{"code": exc.code, "message": exc.message,
                               "timestamp": rfc3339(now())}]
        work["timeFinished"] = rfc3339(now())
        self.store.put(WORK_REQUEST, work["id"], work, parent=work["compartmentId"],
                       name=work["timeAccepted"] + uuid.uuid4().hex)
        return work

    def work_request(self, work_request_id: str) -> Doc:
        found = self.store.get(WORK_REQUEST, work_request_id)
        if found is None:
            raise _no_work_request()
        return found

    def work_requests(self, compartment_id: str | None) -> list[Doc]:
        if not compartment_id:
            raise missing("compartmentId")
        return self.store.find(WORK_REQUEST, parent=compartment_id)
