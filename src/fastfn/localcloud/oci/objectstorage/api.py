"""Object Storage's REST routes: requests in, backend calls, OCI-shaped responses out.

Each handler reads the request (path, query, headers, body), calls one backend method
(backend.py, multipart.py, copying.py) and writes the answer; no state lives here.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from fastfn.localcloud.oci.core.context import CloudContext
from fastfn.localcloud.oci.core.errors import (
    REQUEST_ID_HEADER,
    OCIError,
    invalid,
    missing,
    request_id,
)
from fastfn.localcloud.oci.core.ids import now, rfc3339
from fastfn.localcloud.oci.core.listing import drop_none, page, page_limit, paginated, summary
from fastfn.localcloud.oci.core.wire import empty_response, json_response, parse_body
from fastfn.localcloud.oci.objectstorage.actions import Actions
from fastfn.localcloud.oci.objectstorage.backend import Backend, WriteOptions
from fastfn.localcloud.oci.objectstorage.blobs import read_range
from fastfn.localcloud.oci.objectstorage.copying import WORK_REQUEST_FIELDS, Copies
from fastfn.localcloud.oci.objectstorage.listing import list_objects, list_versions
from fastfn.localcloud.oci.objectstorage.models import (
    _CONTENT_HEADERS,
    OBJECT_FIELDS,
    STORAGE_TIERS,
    VERSION_FIELDS,
    CommitMultipartUploadDetails,
    CopyObjectDetails,
    CreateBucketDetails,
    CreateMultipartUploadDetails,
    RenameObjectDetails,
    RestoreObjectsDetails,
    UpdateBucketDetails,
    UpdateObjectStorageTierDetails,
    _http_date,
    object_fields,
)
from fastfn.localcloud.oci.objectstorage.multipart import (
    PART_FIELDS,
    UPLOAD_FIELDS,
    Multipart,
    part_number,
)

log = logging.getLogger("fastfn.localcloud.oci.objectstorage")

Doc = dict[str, Any]


def _declared_length(request: Request) -> int | None:
    declared = request.headers.get("content-length")
    if declared is None:
        if "chunked" not in request.headers.get("transfer-encoding", ""):
            raise OCIError(411, "MissingContentLength", "Content-Length is required.")
        return None
    if not declared.isdigit():
        raise invalid("Content-Length must be a number.")
    return int(declared)


def _write_options(request: Request) -> WriteOptions:
    h = request.headers
    tier = h.get("storage-tier")
    if tier is not None and tier not in STORAGE_TIERS:
        raise invalid(f"Invalid storage-tier {tier!r}: one of {', '.join(STORAGE_TIERS)}.")
    return WriteOptions(
        if_match=h.get("if-match"), if_none_match=h.get("if-none-match"),
        content={k: h[k] for k in _CONTENT_HEADERS if k in h},
        meta={k[len("opc-meta-"):]: v for k, v in h.items() if k.startswith("opc-meta-")},
        storage_tier=tier)


def _fields(request: Request, allowed: tuple[str, ...], default: str) -> list[str]:
    fields = [f.strip() for f in request.query_params.get("fields", default).split(",")
              if f.strip()]
    unknown = [f for f in fields if f not in allowed]
    if unknown:
        raise invalid(f"Unknown fields: {', '.join(unknown)}.")
    return fields


def _object_headers(obj: Doc) -> dict[str, str]:
    headers = {"etag": obj["etag"], "last-modified": _http_date(obj["timeModified"]),
               "storage-tier": obj.get("storageTier") or "Standard",
               "accept-ranges": "bytes"}
    if obj.get("multipart"):
        headers["opc-multipart-md5"] = obj["md5"]
    else:
        headers["content-md5"] = obj["md5"]
    if obj.get("versionId"):
        headers["version-id"] = obj["versionId"]
    if obj.get("storageTier") == "Archive" and obj.get("archivalState"):
        headers["archival-state"] = obj["archivalState"]
    headers.update(obj["content"])
    headers.update({f"opc-meta-{k}": v for k, v in obj["meta"].items()})
    return headers


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if match is None or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:  # suffix range: the last N bytes
        n = int(last)
        if n == 0:
            return None
        return max(size - n, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


class ObjectStorage:
    def __init__(self, ctx: CloudContext) -> None:
        self.ctx = ctx
        self.backend = Backend(ctx)
        self.multipart = Multipart(self.backend)
        self.copies = Copies(self.backend)
        self.actions = Actions(self.backend)

    def bucket(self, request: Request) -> Doc:
        return self.backend.bucket(request.path_params["namespace"],
                                   request.path_params["bucket"])

    # -- namespace -----------------------------------------------------------------------

    async def get_namespace(self, request: Request) -> Response:
        return json_response(request, self.ctx.identity.namespace)

    async def get_namespace_metadata(self, request: Request) -> Response:
        ns = self.backend.namespace(request.path_params["namespace"])
        cid = self.ctx.identity.compartment_id
        return json_response(request, {"namespace": ns, "defaultS3CompartmentId": cid,
                                       "defaultSwiftCompartmentId": cid})

    # -- buckets -------------------------------------------------------------------------

    def _bucket_response(self, request: Request, bucket: Doc) -> Response:
        fields = request.query_params.get("fields", "")
        if "approximateCount" in fields or "approximateSize" in fields:
            bucket = self.backend.with_counts(bucket)
        return json_response(request, drop_none(bucket), headers={"etag": bucket["etag"]})

    async def create_bucket(self, request: Request) -> Response:
        details = await parse_body(request, CreateBucketDetails)
        bucket = self.backend.create_bucket(request.path_params["namespace"], details,
                                            request.state.principal.id)
        return self._bucket_response(request, bucket)

    async def get_bucket(self, request: Request) -> Response:
        bucket = self.bucket(request)
        self.backend.check_bucket_preconditions(bucket, request.headers.get("if-match"),
                                                request.headers.get("if-none-match"))
        return self._bucket_response(request, bucket)

    async def head_bucket(self, request: Request) -> Response:
        bucket = self.bucket(request)
        self.backend.check_bucket_preconditions(bucket, request.headers.get("if-match"),
                                                request.headers.get("if-none-match"))
        return empty_response(request, 200, {"etag": bucket["etag"]})

    async def list_buckets(self, request: Request) -> Response:
        compartment = request.query_params.get("compartmentId")
        if not compartment:
            raise missing("compartmentId")
        return paginated(request, self.backend.list_buckets(request.path_params["namespace"],
                                                            compartment))

    async def update_bucket(self, request: Request) -> Response:
        details = await parse_body(request, UpdateBucketDetails)
        bucket = self.backend.update_bucket(request.path_params["namespace"],
                                            request.path_params["bucket"], details,
                                            request.headers.get("if-match"))
        return self._bucket_response(request, bucket)

    async def delete_bucket(self, request: Request) -> Response:
        self.backend.delete_bucket(request.path_params["namespace"],
                                   request.path_params["bucket"],
                                   request.headers.get("if-match"))
        return empty_response(request, 204)

    # -- objects -------------------------------------------------------------------------

    async def put_object(self, request: Request) -> Response:
        bucket = self.bucket(request)
        declared = _declared_length(request)
        obj = await self.backend.put_object(
            bucket, request.path_params["object"], request.stream(), declared,
            request.headers.get("content-md5"), _write_options(request))
        return empty_response(request, 200, {
            "etag": obj["etag"], "opc-content-md5": obj["md5"],
            "last-modified": _http_date(obj["timeModified"]), "version-id": obj["versionId"],
        })

    def _existing(self, request: Request) -> Doc:
        return self.backend.object(self.bucket(request), request.path_params["object"],
                                   request.query_params.get("versionId"),
                                   request.headers.get("if-match"),
                                   request.headers.get("if-none-match"))

    async def head_object(self, request: Request) -> Response:
        obj = self._existing(request)
        headers = _object_headers(obj)
        headers["content-length"] = str(obj["size"])
        headers[REQUEST_ID_HEADER] = request_id(request)
        return Response(status_code=200, headers=headers)

    async def get_object(self, request: Request) -> Response:
        obj = self._existing(request)
        self.backend.readable(obj)
        handle = self.backend.blobs.open(obj["blob"])
        size = obj["size"]
        start, end = 0, size - 1
        status = 200
        headers = _object_headers(obj)
        headers[REQUEST_ID_HEADER] = request_id(request)
        byte_range = request.headers.get("range")
        if byte_range:
            parsed = _parse_range(byte_range, size)
            if parsed is None:
                handle.close()
                raise OCIError(416, "InvalidRange", "The requested range is not satisfiable.",
                               headers={"content-range": f"bytes */{size}"})
            start, end = parsed
            status = 206
            headers["content-range"] = f"bytes {start}-{end}/{size}"
        headers["content-length"] = str(max(end - start + 1, 0))
        # As stored: media_type would make Starlette append a charset to text types.
        headers.setdefault("content-type", "application/octet-stream")
        return StreamingResponse(read_range(handle, start, end + 1), status_code=status,
                                 headers=headers)

    async def delete_object(self, request: Request) -> Response:
        marker = self.backend.delete_object(self.bucket(request),
                                            request.path_params["object"],
                                            request.query_params.get("versionId"),
                                            request.headers.get("if-match"))
        headers = {"last-modified": _http_date(marker["timeModified"] if marker else
                                               rfc3339(now()))}
        if marker is not None:
            headers.update({"version-id": marker["versionId"], "is-delete-marker": "true"})
        return empty_response(request, 204, headers)

    async def list_objects(self, request: Request) -> Response:
        bucket = self.bucket(request)
        q = request.query_params
        delimiter = q.get("delimiter")
        if delimiter is not None and delimiter != "/":
            raise invalid("The only supported delimiter is '/'.")
        body = list_objects(
            self.backend.store, bucket, q.get("prefix", ""), q.get("start", ""),
            q.get("startAfter"), q.get("end"),
            delimiter, page_limit(request, 1000, 1000),
            _fields(request, OBJECT_FIELDS, "name"))
        return json_response(request, body)

    async def list_object_versions(self, request: Request) -> Response:
        bucket = self.bucket(request)
        q = request.query_params
        delimiter = q.get("delimiter")
        if delimiter is not None and delimiter != "/":
            raise invalid("The only supported delimiter is '/'.")
        fields = {"name", "versionId", "isDeleteMarker", "timeModified",
                  *_fields(request, VERSION_FIELDS, "name")}
        items, prefixes = list_versions(
            self.backend.store, bucket, q.get("prefix", ""), q.get("start", ""), q.get("end"),
            q.get("startAfter"), delimiter)
        chunk, headers = page(request, [object_fields(i, [f for f in VERSION_FIELDS
                                                          if f in fields]) for i in items])
        body: Doc = {"items": chunk}
        if delimiter:
            body["prefixes"] = prefixes
        return json_response(request, body, headers=headers)

    # -- actions -------------------------------------------------------------------------

    async def rename_object(self, request: Request) -> Response:
        details = await parse_body(request, RenameObjectDetails)
        self.actions.rename(self.bucket(request), details)
        return empty_response(request, 200)

    async def copy_object(self, request: Request) -> Response:
        details = await parse_body(request, CopyObjectDetails)
        work = self.copies.copy(self.bucket(request), details)
        return empty_response(request, 202, {"opc-work-request-id": work["id"]})

    async def update_storage_tier(self, request: Request) -> Response:
        details = await parse_body(request, UpdateObjectStorageTierDetails)
        self.actions.update_tier(self.bucket(request), details)
        return empty_response(request, 200)

    async def restore_objects(self, request: Request) -> Response:
        details = await parse_body(request, RestoreObjectsDetails)
        self.actions.restore(self.bucket(request), details)
        return empty_response(request, 202)

    # -- multipart uploads ---------------------------------------------------------------

    async def create_upload(self, request: Request) -> Response:
        details = await parse_body(request, CreateMultipartUploadDetails)
        upload = self.multipart.create(self.bucket(request), details,
                                       request.headers.get("if-match"),
                                       request.headers.get("if-none-match"))
        location = f"/n/{upload['namespace']}/b/{upload['bucket']}/u/{upload['object']}"
        return json_response(request, summary(upload, UPLOAD_FIELDS),
                             headers={"location": location})

    async def list_uploads(self, request: Request) -> Response:
        uploads = self.multipart.uploads(self.bucket(request))
        return paginated(request, [summary(u, UPLOAD_FIELDS) for u in uploads])

    async def upload_part(self, request: Request) -> Response:
        bucket = self.bucket(request)
        num = part_number(request.query_params.get("uploadPartNum"))
        part = await self.multipart.upload_part(
            bucket, request.path_params["object"], request.query_params.get("uploadId"), num,
            request.stream(), _declared_length(request), request.headers.get("content-md5"))
        return empty_response(request, 200, {"etag": part["etag"],
                                             "opc-content-md5": part["md5"]})

    async def list_parts(self, request: Request) -> Response:
        parts = self.multipart.parts(self.bucket(request), request.path_params["object"],
                                     request.query_params.get("uploadId"))
        return paginated(request, [summary(p, PART_FIELDS) for p in parts])

    async def commit_upload(self, request: Request) -> Response:
        details = await parse_body(request, CommitMultipartUploadDetails)
        obj = self.multipart.commit(self.bucket(request), request.path_params["object"],
                                    request.query_params.get("uploadId"), details,
                                    request.headers.get("if-match"),
                                    request.headers.get("if-none-match"))
        return empty_response(request, 200, {
            "etag": obj["etag"], "opc-multipart-md5": obj["md5"],
            "last-modified": _http_date(obj["timeModified"]), "version-id": obj["versionId"],
        })

    async def abort_upload(self, request: Request) -> Response:
        self.multipart.abort(self.bucket(request), request.path_params["object"],
                             request.query_params.get("uploadId"))
        return empty_response(request, 204)

    # -- work requests -------------------------------------------------------------------

    async def get_work_request(self, request: Request) -> Response:
        work = self.copies.work_request(request.path_params["id"])
        return json_response(request, summary(work, WORK_REQUEST_FIELDS))

    async def list_work_requests(self, request: Request) -> Response:
        found = self.copies.work_requests(request.query_params.get("compartmentId"))
        return paginated(request, [summary(w, WORK_REQUEST_FIELDS) for w in found])

    async def work_request_errors(self, request: Request) -> Response:
        return paginated(request, self.copies.work_request(request.path_params["id"])["errors"])

    async def work_request_logs(self, request: Request) -> Response:
        work = self.copies.work_request(request.path_params["id"])
        return paginated(request, [{"message": f"{work['operationType']} {work['status']}",
                                    "timestamp": work["timeFinished"]}])

    def routes(self) -> list[Route]:
        o = "/n/{namespace}/b/{bucket}/o/{object:path}"
        u = "/n/{namespace}/b/{bucket}/u/{object:path}"
        b = "/n/{namespace}/b/{bucket}"
        w = "/workRequests/{id}"
        return [
            Route("/n", self.get_namespace, methods=["GET"]),
            Route("/n/", self.get_namespace, methods=["GET"]),
            Route("/n/{namespace}", self.get_namespace_metadata, methods=["GET"]),
            Route("/n/{namespace}/b", self.create_bucket, methods=["POST"]),
            Route("/n/{namespace}/b/", self.create_bucket, methods=["POST"]),
            Route("/n/{namespace}/b", self.list_buckets, methods=["GET"]),
            Route("/n/{namespace}/b/", self.list_buckets, methods=["GET"]),
            Route(b, self.get_bucket, methods=["GET"]),
            Route(b, self.head_bucket, methods=["HEAD"]),
            Route(b, self.update_bucket, methods=["POST"]),
            Route(b, self.delete_bucket, methods=["DELETE"]),
            Route(b + "/o", self.list_objects, methods=["GET"]),
            Route(b + "/o/", self.list_objects, methods=["GET"]),
            Route(b + "/objectversions", self.list_object_versions, methods=["GET"]),
            Route(o, self.put_object, methods=["PUT"]),
            # HEAD first: Starlette lets a GET route answer HEAD too.
            Route(o, self.head_object, methods=["HEAD"]),
            Route(o, self.get_object, methods=["GET"]),
            Route(o, self.delete_object, methods=["DELETE"]),
            Route(b + "/actions/renameObject", self.rename_object, methods=["POST"]),
            Route(b + "/actions/copyObject", self.copy_object, methods=["POST"]),
            Route(b + "/actions/updateObjectStorageTier", self.update_storage_tier,
                  methods=["POST"]),
            Route(b + "/actions/restoreObjects", self.restore_objects, methods=["POST"]),
            Route(b + "/u", self.create_upload, methods=["POST"]),
            Route(b + "/u", self.list_uploads, methods=["GET"]),
            Route(u, self.upload_part, methods=["PUT"]),
            Route(u, self.list_parts, methods=["GET"]),
            Route(u, self.commit_upload, methods=["POST"]),
            Route(u, self.abort_upload, methods=["DELETE"]),
            Route("/workRequests", self.list_work_requests, methods=["GET"]),
            Route(w, self.get_work_request, methods=["GET"]),
            Route(w + "/errors", self.work_request_errors, methods=["GET"]),
            Route(w + "/logs", self.work_request_logs, methods=["GET"]),
        ]
