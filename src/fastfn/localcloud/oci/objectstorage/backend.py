"""Object Storage's state: namespace, buckets, objects and their versions.

Plain methods over the store and the blob files, no HTTP: api.py turns requests into
these calls. Metadata changes happen in one store transaction each; blob files are
written before it and removed after it, so a failed call leaves the bucket as it was.

Versioned buckets ("Enabled") keep an object's earlier versions and delete markers as
OBJECT_VERSION documents; the OBJECT document is always the newest live version.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from typing import Any

from fastfn.localcloud.oci.core.context import CloudContext
from fastfn.localcloud.oci.core.errors import OCIError, conflict, invalid
from fastfn.localcloud.oci.core.ids import now, ocid, rfc3339
from fastfn.localcloud.oci.core.store import Store
from fastfn.localcloud.oci.objectstorage.blobs import Blobs, Written
from fastfn.localcloud.oci.objectstorage.models import (
    _BUCKET_NAME,
    ARCHIVED,
    BUCKET,
    EVENT_CREATE,
    EVENT_DELETE,
    EVENT_UPDATE,
    MAX_OBJECT_NAME_BYTES,
    OBJECT,
    OBJECT_VERSION,
    UPLOAD,
    CreateBucketDetails,
    UpdateBucketDetails,
    _etag_matches,
)

Doc = dict[str, Any]


@dataclass
class WriteOptions:
    """What a client can say about an object it writes, besides its bytes."""

    if_match: str | None = None
    if_none_match: str | None = None
    content: dict[str, str] = field(default_factory=dict)  # content-type & co
    meta: dict[str, str] = field(default_factory=dict)  # opc-meta-* without the prefix
    storage_tier: str | None = None


def check_name(name: str) -> str:
    if not name or len(name.encode()) > MAX_OBJECT_NAME_BYTES:
        raise invalid("Object names must be 1 to 1024 bytes long.")
    return name


def if_match_failed() -> OCIError:
    return OCIError(412, "IfMatchFailed", "The If-Match header does not match the object's ETag.")


class Backend:
    def __init__(self, ctx: CloudContext) -> None:
        self.ctx = ctx
        self.store: Store = ctx.store
        self.blobs = Blobs(ctx.blobs_dir)

    # -- namespace and buckets -------------------------------------------------------------

    def namespace(self, ns: str) -> str:
        if ns != self.ctx.identity.namespace:
            raise OCIError(404, "NamespaceNotFound",
                           f"You do not have authorization to perform this request, or the "
                           f"requested namespace {ns} was not found.")
        return ns

    def bucket(self, ns: str, name: str) -> Doc:
        self.namespace(ns)
        found = self.store.find(BUCKET, name=name)
        if not found:
            raise OCIError(404, "BucketNotFound",
                           f"Either the bucket named '{name}' does not exist in the namespace "
                           f"'{self.ctx.identity.namespace}' or you are not authorized to "
                           "access it")
        return found[0]

    def _check_compartment(self, compartment_id: str) -> None:
        if not self.ctx.compartment_exists(compartment_id):
            raise OCIError(400, "RelatedResourceNotAuthorizedOrNotFound",
                           f"Compartment {compartment_id} not found.")

    def create_bucket(self, ns: str, details: CreateBucketDetails, created_by: str) -> Doc:
        self.namespace(ns)
        if not _BUCKET_NAME.match(details.name):
            raise invalid("Bucket names may contain letters, digits, '-', '_' and '.', "
                          "1 to 256 characters.")
        self._check_compartment(details.compartment_id)
        bucket = {
            "namespace": ns, "name": details.name, "compartmentId": details.compartment_id,
            "metadata": details.metadata or {}, "createdBy": created_by,
            "timeCreated": rfc3339(now()), "etag": uuid.uuid4().hex,
            "publicAccessType": details.public_access_type,
            "storageTier": details.storage_tier,
            "objectEventsEnabled": details.object_events_enabled,
            "freeformTags": details.freeform_tags or {},
            "definedTags": details.defined_tags or {},
            "kmsKeyId": details.kms_key_id, "id": ocid("bucket", self.ctx.identity.region),
            "versioning": details.versioning, "replicationEnabled": False,
            "isReadOnly": False, "autoTiering": details.auto_tiering,
        }
        with self.store.transaction() as store:
            if store.find(BUCKET, name=details.name):
                raise conflict("Either the bucket already exists or you are not authorized "
                               "to create it", code="BucketAlreadyExists")
            store.put(BUCKET, bucket["id"], bucket, parent=details.compartment_id,
                      name=details.name)
        return bucket

    def with_counts(self, bucket: Doc) -> Doc:
        objects = self.store.find(OBJECT, parent=bucket["id"])
        return {**bucket, "approximateCount": len(objects),
                "approximateSize": sum(o["size"] for o in objects)}

    @staticmethod
    def check_bucket_preconditions(bucket: Doc, if_match: str | None,
                                   if_none_match: str | None = None) -> None:
        if if_match is not None and not _etag_matches(if_match, bucket["etag"]):
            raise OCIError(412, "IfMatchFailed", "The If-Match precondition failed.")
        if if_none_match is not None and _etag_matches(if_none_match, bucket["etag"]):
            raise OCIError(304, "NotModified", "Not modified.")

    def list_buckets(self, ns: str, compartment_id: str) -> list[Doc]:
        self.namespace(ns)
        return [{k: b.get(k) for k in ("namespace", "name", "compartmentId", "createdBy",
                                       "timeCreated", "etag", "freeformTags", "definedTags")}
                for b in self.store.find(BUCKET, parent=compartment_id)]

    def update_bucket(self, ns: str, name: str, details: UpdateBucketDetails,
                      if_match: str | None) -> Doc:
        with self.store.transaction() as store:
            bucket = self.bucket(ns, name)
            self.check_bucket_preconditions(bucket, if_match)
            if details.name is not None and details.name != bucket["name"]:
                if not _BUCKET_NAME.match(details.name):
                    raise invalid("Invalid bucket name.")
                if store.find(BUCKET, name=details.name):
                    raise conflict("The bucket already exists", code="BucketAlreadyExists")
            if details.compartment_id is not None:
                self._check_compartment(details.compartment_id)
            if details.versioning == "Suspended" and bucket["versioning"] == "Disabled":
                raise invalid("Versioning can be suspended only on a bucket where it is "
                              "enabled.")
            changes = details.model_dump(by_alias=True, exclude_none=True)
            changes.pop("namespace", None)
            bucket.update(changes)
            bucket["etag"] = uuid.uuid4().hex
            store.put(BUCKET, bucket["id"], bucket, parent=bucket["compartmentId"],
                      name=bucket["name"])
        return bucket

    def delete_bucket(self, ns: str, name: str, if_match: str | None) -> None:
        with self.store.transaction() as store:
            bucket = self.bucket(ns, name)
            self.check_bucket_preconditions(bucket, if_match)
            if (store.count(OBJECT, bucket["id"]) or store.count(OBJECT_VERSION, bucket["id"])
                    or store.count(UPLOAD, bucket["id"])):
                raise conflict(f"Bucket named '{bucket['name']}' is not empty. Delete all "
                               "objects, object versions and uncommitted multipart uploads "
                               "first.", code="BucketNotEmpty")
            store.delete(BUCKET, bucket["id"])

    # -- writing objects -------------------------------------------------------------------

    def missing_object(self, bucket: Doc, name: str) -> OCIError:
        return OCIError(404, "ObjectNotFound",
                        f"The object '{name}' was not found in the bucket '{bucket['name']}'")

    def check_write_preconditions(self, current: Doc | None, bucket: Doc, name: str,
                                  if_match: str | None, if_none_match: str | None) -> None:
        if if_match is not None:
            if current is None:
                raise self.missing_object(bucket, name)
            if not _etag_matches(if_match, current["etag"]):
                raise if_match_failed()
        if if_none_match is not None:
            if if_none_match.strip() != "*":
                raise invalid("If-None-Match on a write only accepts '*'.")
            if current is not None:
                raise OCIError(412, "IfNoneMatchFailed",
                               "The If-None-Match header is '*' but the object exists.")

    def tier_for(self, bucket: Doc, wanted: str | None) -> str:
        if bucket.get("storageTier") == "Archive":
            if wanted not in (None, "Archive"):
                raise invalid("Objects in an Archive bucket are in the Archive tier.")
            return "Archive"
        return wanted or "Standard"

    async def put_object(self, bucket: Doc, name: str, chunks: AsyncIterable[bytes],
                         declared: int | None, content_md5: str | None,
                         opts: WriteOptions) -> Doc:
        check_name(name)
        tier = self.tier_for(bucket, opts.storage_tier)
        self.check_write_preconditions(self.store.get(OBJECT, f"{bucket['id']}/{name}"),
                                       bucket, name, opts.if_match, opts.if_none_match)
        written = await self.blobs.write(chunks, declared, content_md5)
        return self.store_object(bucket, name, written, opts, tier)

    def store_object(self, bucket: Doc, name: str, written: Written, opts: WriteOptions,
                     tier: str, multipart_md5: str | None = None) -> Doc:
        """Make `written` the object's current version (its blob is ours from now on)."""
        modified = rfc3339(now())
        key = f"{bucket['id']}/{name}"
        content = dict(opts.content)
        content.setdefault("content-type", "application/octet-stream")
        try:
            with self.store.transaction() as store:
                current = store.get(OBJECT, key)
                self.check_write_preconditions(current, bucket, name, opts.if_match,
                                               opts.if_none_match)
                latest = store.get(BUCKET, bucket["id"])
                if latest is None:
                    raise self.missing_object(bucket, name)
                obj: Doc = {
                    "name": name, "bucketId": bucket["id"], "size": written.size,
                    "md5": multipart_md5 or written.md5, "etag": str(uuid.uuid4()),
                    "blob": written.blob, "versionId": str(uuid.uuid4()),
                    "seq": time.time_ns(),
                    "timeCreated": current["timeCreated"] if current else modified,
                    "timeModified": modified, "storageTier": tier,
                    "meta": opts.meta, "content": content,
                }
                if multipart_md5:
                    obj["multipart"] = True
                if tier == "Archive":
                    obj["archivalState"] = ARCHIVED
                kept = current is not None and latest.get("versioning") == "Enabled"
                if kept:
                    assert current is not None
                    self.keep_version(store, current)
                store.put(OBJECT, key, obj, parent=bucket["id"], name=name)
                # In the same transaction: the object and its event records, or neither.
                self.emit(EVENT_UPDATE if current else EVENT_CREATE, bucket, obj)
        except BaseException:
            self.blobs.remove(written.blob)
            raise
        if current is not None and not kept:
            self.blobs.remove(current["blob"])
        return obj

    @staticmethod
    def keep_version(store: Store, doc: Doc) -> None:
        doc = {**doc, "versionId": doc.get("versionId") or str(uuid.uuid4()),
               "seq": doc.get("seq") or 0}
        store.put(OBJECT_VERSION, f"{doc['bucketId']}/{doc['versionId']}", doc,
                  parent=doc["bucketId"], name=doc["name"])

    # -- reading objects -------------------------------------------------------------------

    def object(self, bucket: Doc, name: str, version_id: str | None = None,
               if_match: str | None = None, if_none_match: str | None = None) -> Doc:
        check_name(name)
        obj = self.store.get(OBJECT, f"{bucket['id']}/{name}")
        if version_id is not None and (obj is None or obj.get("versionId") != version_id):
            obj = self.store.get(OBJECT_VERSION, f"{bucket['id']}/{version_id}")
            if obj is not None and (obj["name"] != name or obj.get("isDeleteMarker")):
                obj = None
        if obj is None:
            raise self.missing_object(bucket, name)
        if if_match is not None and not _etag_matches(if_match, obj["etag"]):
            raise if_match_failed()
        if if_none_match is not None and _etag_matches(if_none_match, obj["etag"]):
            raise OCIError(304, "NotModified", "Not modified.", headers={"etag": obj["etag"]})
        return obj

    def readable(self, obj: Doc) -> None:
        """Archived objects must be restored before their bytes can be read."""
        if obj.get("storageTier") == "Archive" and obj.get("archivalState") != "Restored":
            raise OCIError(409, "NotRestored",
                           f"The object '{obj['name']}' is archived; restore it first.")

    # -- deleting objects ------------------------------------------------------------------

    def delete_object(self, bucket: Doc, name: str, version_id: str | None,
                      if_match: str | None) -> Doc | None:
        """Delete the object (or one version); in a versioned bucket, deleting without a
        version id leaves a delete marker, which is returned."""
        check_name(name)
        key = f"{bucket['id']}/{name}"
        removed: list[str] = []
        marker: Doc | None = None
        with self.store.transaction() as store:
            current = store.get(OBJECT, key)
            if version_id is None or (current and current.get("versionId") == version_id):
                if current is None:
                    raise self.missing_object(bucket, name)
                if if_match is not None and not _etag_matches(if_match, current["etag"]):
                    raise if_match_failed()
                store.delete(OBJECT, key)
                latest = store.get(BUCKET, bucket["id"]) or bucket
                if version_id is None and latest.get("versioning") == "Enabled":
                    self.keep_version(store, current)
                    marker = {"name": name, "bucketId": bucket["id"],
                              "versionId": str(uuid.uuid4()), "seq": time.time_ns(),
                              "isDeleteMarker": True, "timeModified": rfc3339(now()),
                              "timeCreated": rfc3339(now()), "etag": str(uuid.uuid4())}
                    self.keep_version(store, marker)
                else:
                    removed.append(current["blob"])
                    self.promote(store, bucket, name)
                gone = current
            else:
                old = store.get(OBJECT_VERSION, f"{bucket['id']}/{version_id}")
                if old is None or old["name"] != name:
                    raise self.missing_object(bucket, name)
                if if_match is not None and not _etag_matches(if_match, old["etag"]):
                    raise if_match_failed()
                store.delete(OBJECT_VERSION, f"{bucket['id']}/{version_id}")
                if not old.get("isDeleteMarker"):
                    removed.append(old["blob"])
                if current is None:
                    self.promote(store, bucket, name)
                gone = old
            if not gone.get("isDeleteMarker"):
                self.emit(EVENT_DELETE, bucket, gone)
        self.blobs.remove(*removed)
        return marker

    def versions_of(self, store: Store, bucket_id: str, name: str) -> list[Doc]:
        """An object's kept versions and markers, newest first."""
        return sorted(store.find(OBJECT_VERSION, parent=bucket_id, name=name),
                      key=lambda d: d.get("seq", 0), reverse=True)

    def promote(self, store: Store, bucket: Doc, name: str) -> None:
        """With no current version left, the newest kept one becomes current, unless it
        is a delete marker."""
        kept = self.versions_of(store, bucket["id"], name)
        if kept and not kept[0].get("isDeleteMarker"):
            newest = kept[0]
            store.delete(OBJECT_VERSION, f"{bucket['id']}/{newest['versionId']}")
            store.put(OBJECT, f"{bucket['id']}/{name}", newest, parent=bucket["id"],
                      name=name)

    # -- events ----------------------------------------------------------------------------

    def emit(self, event_type: str, bucket: Doc, obj: Doc) -> None:
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
                    "bucketId": bucket["id"],
                    # Events (unlike the API) say "Available" for objects not archived.
                    "archivalState": obj.get("archivalState") or "Available",
                },
            },
        })
