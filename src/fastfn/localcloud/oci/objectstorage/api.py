"""Object Storage: namespace, buckets and objects, object bytes on disk.

Each object version's bytes live in their own file under `objects/`, written to a temp
file and renamed into place; the metadata row that points at the file is swapped in a
transaction. A reader that opened the old file keeps reading it after an overwrite (POSIX
keeps unlinked files alive), so a concurrent GET never sees a mix of two versions.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from fastfn.localcloud.oci.core.context import CloudContext
from fastfn.localcloud.oci.core.errors import (
    REQUEST_ID_HEADER,
    OCIError,
    conflict,
    invalid,
    missing,
    request_id,
)
from fastfn.localcloud.oci.core.ids import now, ocid, rfc3339
from fastfn.localcloud.oci.core.listing import drop_none, paginated
from fastfn.localcloud.oci.core.wire import empty_response, json_response, parse_body
from fastfn.localcloud.oci.objectstorage.models import (
    _BUCKET_NAME,
    _CONTENT_HEADERS,
    BUCKET,
    CHUNK,
    EVENT_CREATE,
    EVENT_DELETE,
    EVENT_UPDATE,
    MAX_OBJECT_NAME_BYTES,
    OBJECT,
    OBJECT_FIELDS,
    CreateBucketDetails,
    UpdateBucketDetails,
    _etag_matches,
    _http_date,
)

log = logging.getLogger("fastfn.localcloud.oci.objectstorage")


class ObjectStorage:
    def __init__(self, ctx: CloudContext) -> None:
        self.ctx = ctx
        self.blobs = ctx.blobs_dir
        self.blobs.mkdir(parents=True, exist_ok=True)

    # -- lookups -------------------------------------------------------------------------

    def _namespace(self, request: Request) -> str:
        ns = request.path_params["namespace"]
        if ns != self.ctx.identity.namespace:
            raise OCIError(404, "NamespaceNotFound",
                           f"You do not have authorization to perform this request, or the "
                           f"requested namespace {ns} was not found.")
        return ns

    def bucket(self, request: Request) -> dict[str, Any]:
        self._namespace(request)
        name = request.path_params["bucket"]
        found = self.ctx.store.find(BUCKET, name=name)
        if not found:
            raise OCIError(404, "BucketNotFound",
                           f"Either the bucket named '{name}' does not exist in the namespace "
                           f"'{self.ctx.identity.namespace}' or you are not authorized to "
                           "access it")
        return found[0]

    def _object_name(self, request: Request) -> str:
        name = request.path_params["object"]
        if not name or len(name.encode()) > MAX_OBJECT_NAME_BYTES:
            raise invalid("Object names must be 1 to 1024 bytes long.")
        return name

    def _object(self, bucket: dict[str, Any], name: str) -> dict[str, Any] | None:
        return self.ctx.store.get(OBJECT, f"{bucket['id']}/{name}")

    def _missing_object(self, bucket: dict[str, Any], name: str) -> OCIError:
        return OCIError(404, "ObjectNotFound",
                        f"The object '{name}' was not found in the bucket '{bucket['name']}'")

    # -- namespace -----------------------------------------------------------------------

    async def get_namespace(self, request: Request) -> Response:
        return json_response(request, self.ctx.identity.namespace)

    async def get_namespace_metadata(self, request: Request) -> Response:
        ns = self._namespace(request)
        cid = self.ctx.identity.compartment_id
        return json_response(request, {"namespace": ns, "defaultS3CompartmentId": cid,
                                       "defaultSwiftCompartmentId": cid})

    # -- buckets -------------------------------------------------------------------------

    async def create_bucket(self, request: Request) -> Response:
        ns = self._namespace(request)
        details = await parse_body(request, CreateBucketDetails)
        if not _BUCKET_NAME.match(details.name):
            raise invalid("Bucket names may contain letters, digits, '-', '_' and '.', "
                          "1 to 256 characters.")
        if not self.ctx.compartment_exists(details.compartment_id):
            raise OCIError(400, "RelatedResourceNotAuthorizedOrNotFound",
                           f"Compartment {details.compartment_id} not found.")
        created = now()
        bucket = {
            "namespace": ns, "name": details.name, "compartmentId": details.compartment_id,
            "metadata": details.metadata or {}, "createdBy": request.state.principal.id,
            "timeCreated": rfc3339(created), "etag": uuid.uuid4().hex,
            "publicAccessType": details.public_access_type,
            "storageTier": details.storage_tier,
            "objectEventsEnabled": details.object_events_enabled,
            "freeformTags": details.freeform_tags or {},
            "definedTags": details.defined_tags or {},
            "kmsKeyId": details.kms_key_id, "id": ocid("bucket", self.ctx.identity.region),
            "versioning": details.versioning, "replicationEnabled": False,
            "isReadOnly": False, "autoTiering": "Disabled",
        }
        with self.ctx.store.transaction() as store:
            if store.find(BUCKET, name=details.name):
                raise conflict("Either the bucket already exists or you are not authorized "
                               "to create it", code="BucketAlreadyExists")
            store.put(BUCKET, bucket["id"], bucket, parent=details.compartment_id,
                      name=details.name)
        return self._bucket_response(request, bucket)

    def _bucket_response(self, request: Request, bucket: dict[str, Any]) -> Response:
        body = drop_none(bucket)
        fields = request.query_params.get("fields", "")
        if "approximateCount" in fields or "approximateSize" in fields:
            objects = self.ctx.store.find(OBJECT, parent=bucket["id"])
            body["approximateCount"] = len(objects)
            body["approximateSize"] = sum(o["size"] for o in objects)
        return json_response(request, body, headers={"etag": bucket["etag"]})

    async def get_bucket(self, request: Request) -> Response:
        bucket = self.bucket(request)
        self._check_bucket_preconditions(request, bucket)
        return self._bucket_response(request, bucket)

    async def head_bucket(self, request: Request) -> Response:
        bucket = self.bucket(request)
        self._check_bucket_preconditions(request, bucket)
        return empty_response(request, 200, {"etag": bucket["etag"]})

    @staticmethod
    def _check_bucket_preconditions(request: Request, bucket: dict[str, Any]) -> None:
        if_match = request.headers.get("if-match")
        if if_match is not None and not _etag_matches(if_match, bucket["etag"]):
            raise OCIError(412, "IfMatchFailed", "The If-Match precondition failed.")
        if_none = request.headers.get("if-none-match")
        if if_none is not None and _etag_matches(if_none, bucket["etag"]):
            raise OCIError(304, "NotModified", "Not modified.")

    async def list_buckets(self, request: Request) -> Response:
        self._namespace(request)
        compartment = request.query_params.get("compartmentId")
        if not compartment:
            raise missing("compartmentId")
        summaries = [
            {k: b.get(k) for k in ("namespace", "name", "compartmentId", "createdBy",
                                   "timeCreated", "etag", "freeformTags", "definedTags")}
            for b in self.ctx.store.find(BUCKET, parent=compartment)
        ]
        return paginated(request, summaries)

    async def update_bucket(self, request: Request) -> Response:
        details = await parse_body(request, UpdateBucketDetails)
        with self.ctx.store.transaction() as store:
            bucket = self.bucket(request)
            if_match = request.headers.get("if-match")
            if if_match is not None and not _etag_matches(if_match, bucket["etag"]):
                raise OCIError(412, "IfMatchFailed", "The If-Match precondition failed.")
            if details.name is not None and details.name != bucket["name"]:
                if not _BUCKET_NAME.match(details.name):
                    raise invalid("Invalid bucket name.")
                if store.find(BUCKET, name=details.name):
                    raise conflict("The bucket already exists", code="BucketAlreadyExists")
            if (details.compartment_id is not None
                    and not self.ctx.compartment_exists(details.compartment_id)):
                raise OCIError(400, "RelatedResourceNotAuthorizedOrNotFound",
                               f"Compartment {details.compartment_id} not found.")
            changes = details.model_dump(by_alias=True, exclude_none=True)
            changes.pop("namespace", None)
            bucket.update(changes)
            bucket["etag"] = uuid.uuid4().hex
            store.put(BUCKET, bucket["id"], bucket, parent=bucket["compartmentId"],
                      name=bucket["name"])
        return self._bucket_response(request, bucket)

    async def delete_bucket(self, request: Request) -> Response:
        with self.ctx.store.transaction() as store:
            bucket = self.bucket(request)
            if_match = request.headers.get("if-match")
            if if_match is not None and not _etag_matches(if_match, bucket["etag"]):
                raise OCIError(412, "IfMatchFailed", "The If-Match precondition failed.")
            if store.count(OBJECT, bucket["id"]):
                raise conflict(f"Bucket named '{bucket['name']}' is not empty. Delete all "
                               "objects first.", code="BucketNotEmpty")
            store.delete(BUCKET, bucket["id"])
        return empty_response(request, 204)

    # -- objects -------------------------------------------------------------------------

    def _check_write_preconditions(self, request: Request, current: dict[str, Any] | None,
                                   bucket: dict[str, Any], name: str) -> None:
        if_match = request.headers.get("if-match")
        if if_match is not None:
            if current is None:
                raise self._missing_object(bucket, name)
            if not _etag_matches(if_match, current["etag"]):
                raise OCIError(412, "IfMatchFailed",
                               "The If-Match header does not match the object's ETag.")
        if_none = request.headers.get("if-none-match")
        if if_none is not None:
            if if_none.strip() != "*":
                raise invalid("If-None-Match on PUT only accepts '*'.")
            if current is not None:
                raise OCIError(412, "IfNoneMatchFailed",
                               "The If-None-Match header is '*' but the object exists.")

    async def put_object(self, request: Request) -> Response:
        bucket = self.bucket(request)
        name = self._object_name(request)
        self._check_write_preconditions(request, self._object(bucket, name), bucket, name)
        declared = request.headers.get("content-length")
        if declared is None and "chunked" not in request.headers.get("transfer-encoding", ""):
            raise OCIError(411, "MissingContentLength", "Content-Length is required.")

        blob_id = uuid.uuid4().hex
        final = self.blobs / blob_id
        tmp = self.blobs / f".{blob_id}.part"
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        try:
            with open(tmp, "wb") as out:
                async for chunk in request.stream():
                    md5.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            if declared is not None and int(declared) != size:
                raise invalid(f"Content-Length {declared} does not match the {size} bytes "
                              "received.")
            digest = base64.b64encode(md5.digest()).decode()
            given_md5 = request.headers.get("content-md5")
            if given_md5 is not None and given_md5.strip() != digest:
                raise OCIError(400, "UnmatchedContentMD5",
                               "The computed MD5 of the request body does not match the "
                               "Content-MD5 header.")
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

        modified = rfc3339(now())
        meta = {k[len("opc-meta-"):]: v for k, v in request.headers.items()
                if k.startswith("opc-meta-")}
        content = {h: request.headers[h] for h in _CONTENT_HEADERS if h in request.headers}
        content.setdefault("content-type", "application/octet-stream")
        key = f"{bucket['id']}/{name}"
        try:
            with self.ctx.store.transaction() as store:
                current = store.get(OBJECT, key)
                self._check_write_preconditions(request, current, bucket, name)
                if store.get(BUCKET, bucket["id"]) is None:
                    raise self._missing_object(bucket, name)
                obj = {
                    "name": name, "bucketId": bucket["id"], "size": size, "md5": digest,
                    "etag": str(uuid.uuid4()), "blob": blob_id,
                    "timeCreated": current["timeCreated"] if current else modified,
                    "timeModified": modified, "storageTier": "Standard",
                    "archivalState": "Available", "meta": meta, "content": content,
                }
                store.put(OBJECT, key, obj, parent=bucket["id"], name=name)
        except BaseException:
            final.unlink(missing_ok=True)
            raise
        if current is not None:
            (self.blobs / current["blob"]).unlink(missing_ok=True)
        self._emit(EVENT_UPDATE if current else EVENT_CREATE, bucket, obj)
        return empty_response(request, 200, {
            "etag": obj["etag"], "opc-content-md5": digest,
            "last-modified": _http_date(modified),
        })

    def _object_headers(self, obj: dict[str, Any]) -> dict[str, str]:
        headers = {
            "etag": obj["etag"], "content-md5": obj["md5"],
            "last-modified": _http_date(obj["timeModified"]),
            "archival-state": obj["archivalState"], "storage-tier": obj["storageTier"],
            "accept-ranges": "bytes",
        }
        headers.update(obj["content"])
        headers.update({f"opc-meta-{k}": v for k, v in obj["meta"].items()})
        return headers

    def _check_read_preconditions(self, request: Request, obj: dict[str, Any]) -> None:
        if_match = request.headers.get("if-match")
        if if_match is not None and not _etag_matches(if_match, obj["etag"]):
            raise OCIError(412, "IfMatchFailed",
                           "The If-Match header does not match the object's ETag.")
        if_none = request.headers.get("if-none-match")
        if if_none is not None and _etag_matches(if_none, obj["etag"]):
            raise OCIError(304, "NotModified", "Not modified.",
                           headers={"etag": obj["etag"]})

    def _existing(self, request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
        bucket = self.bucket(request)
        name = self._object_name(request)
        obj = self._object(bucket, name)
        if obj is None:
            raise self._missing_object(bucket, name)
        self._check_read_preconditions(request, obj)
        return bucket, obj

    async def head_object(self, request: Request) -> Response:
        _, obj = self._existing(request)
        headers = self._object_headers(obj)
        headers["content-length"] = str(obj["size"])
        headers[REQUEST_ID_HEADER] = request_id(request)
        return Response(status_code=200, headers=headers)

    async def get_object(self, request: Request) -> Response:
        _, obj = self._existing(request)
        path = self.blobs / obj["blob"]
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed by the streaming generator
        except FileNotFoundError:
            # Replaced between the metadata read and the open: the caller retries.
            raise OCIError(409, "ConcurrentObjectUpdate",
                           "The object was modified during the request.") from None
        size = obj["size"]
        start, end = 0, size - 1
        status = 200
        headers = self._object_headers(obj)
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
        return StreamingResponse(_read_file(handle, start, end + 1), status_code=status,
                                 headers=headers)

    async def delete_object(self, request: Request) -> Response:
        bucket = self.bucket(request)
        name = self._object_name(request)
        key = f"{bucket['id']}/{name}"
        with self.ctx.store.transaction() as store:
            obj = store.get(OBJECT, key)
            if obj is None:
                raise self._missing_object(bucket, name)
            if_match = request.headers.get("if-match")
            if if_match is not None and not _etag_matches(if_match, obj["etag"]):
                raise OCIError(412, "IfMatchFailed",
                               "The If-Match header does not match the object's ETag.")
            store.delete(OBJECT, key)
        (self.blobs / obj["blob"]).unlink(missing_ok=True)
        self._emit(EVENT_DELETE, bucket, obj)
        return empty_response(request, 204, {"last-modified": _http_date(rfc3339(now()))})

    async def list_objects(self, request: Request) -> Response:
        bucket = self.bucket(request)
        q = request.query_params
        prefix = q.get("prefix", "")
        start = q.get("start", "")
        start_after = q.get("startAfter")
        end = q.get("end")
        delimiter = q.get("delimiter")
        if delimiter is not None and delimiter != "/":
            raise invalid("The only supported delimiter is '/'.")
        try:
            limit = int(q.get("limit", "1000"))
        except ValueError:
            raise invalid("limit must be an integer.") from None
        if not 1 <= limit <= 1000:
            raise invalid("limit must be between 1 and 1000.")
        fields = [f.strip() for f in q.get("fields", "name").split(",") if f.strip()]
        unknown = [f for f in fields if f not in OBJECT_FIELDS]
        if unknown:
            raise invalid(f"Unknown fields: {', '.join(unknown)}.")

        objects: list[dict[str, Any]] = []
        prefixes: list[str] = []
        next_start: str | None = None
        # Walk names in order from an inclusive lower bound; `exclusive` drops one name
        # equal to it (startAfter, or the last name of the previous batch).
        cursor, exclusive = start, None
        if start_after is not None and start_after >= start:
            cursor, exclusive = start_after, start_after
        while next_start is None:
            batch = [o for o in self.ctx.store.names_from(OBJECT, bucket["id"], cursor, prefix,
                                                          end, 1000)
                     if o["name"] != exclusive]
            if not batch:
                break
            jumped = False
            for obj in batch:
                name = obj["name"]
                if len(objects) + len(prefixes) >= limit:
                    next_start = name
                    break
                rest = name[len(prefix):]
                if delimiter and delimiter in rest:
                    common = prefix + rest[:rest.index(delimiter) + 1]
                    if common not in prefixes:
                        prefixes.append(common)
                    # Skip everything under this prefix: no name sorts after U+10FFFF.
                    cursor, exclusive, jumped = common + "\U0010ffff", None, True
                    break
                objects.append({f: obj.get(f) for f in fields})
            if not jumped:
                cursor = exclusive = batch[-1]["name"]
        body: dict[str, Any] = {"objects": objects}
        if delimiter:
            body["prefixes"] = prefixes
        if next_start is not None:
            body["nextStartWith"] = next_start
        return json_response(request, body)

    # -- events --------------------------------------------------------------------------

    def _emit(self, event_type: str, bucket: dict[str, Any], obj: dict[str, Any]) -> None:
        if not bucket.get("objectEventsEnabled"):
            return
        ns = bucket["namespace"]
        compartment = bucket["compartmentId"]
        self.ctx.publish({
            "cloudEventsVersion": "0.1",
            "eventID": str(uuid.uuid4()),
            "eventType": event_type,
            "source": "ObjectStorage",
            "eventTypeVersion": "2.0",
            "eventTime": rfc3339(now()),
            "contentType": "application/json",
            "extensions": {"compartmentId": compartment},
            "data": {
                "compartmentId": compartment,
                "compartmentName": self.ctx.compartment_name(compartment),
                "resourceName": obj["name"],
                "resourceId": f"/n/{ns}/b/{bucket['name']}/o/{obj['name']}",
                "availabilityDomain": "all",
                "additionalDetails": {
                    "eTag": obj["etag"], "namespace": ns, "bucketName": bucket["name"],
                    "bucketId": bucket["id"], "archivalState": obj["archivalState"],
                },
            },
        })

    def routes(self) -> list[Route]:
        o = "/n/{namespace}/b/{bucket}/o/{object:path}"
        b = "/n/{namespace}/b/{bucket}"
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
            Route(o, self.put_object, methods=["PUT"]),
            Route(o, self.get_object, methods=["GET"]),
            Route(o, self.head_object, methods=["HEAD"]),
            Route(o, self.delete_object, methods=["DELETE"]),
        ]


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


async def _read_file(handle: Any, start: int, stop: int) -> AsyncIterator[bytes]:
    try:
        handle.seek(start)
        remaining = stop - start
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()

