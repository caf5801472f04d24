"""Object Storage wire models, limits and the rules they check."""

from __future__ import annotations

import email.utils
import re
from typing import Any, Literal

from pydantic import Field

from fastfn.localcloud.oci.core.wire import Wire

# Store kinds.
BUCKET = "bucket"
OBJECT = "object"  # the current version of each object: id "<bucket id>/<name>"
OBJECT_VERSION = "objectversion"  # earlier versions and delete markers (versioned buckets)
UPLOAD = "multipartupload"  # id: the upload id; parent: the bucket id
UPLOAD_PART = "uploadpart"  # id "<upload id>/<part number>"; parent: the upload id
WORK_REQUEST = "osworkrequest"

CHUNK = 1024 * 1024
_BUCKET_NAME = re.compile(r"^[A-Za-z0-9._-]{1,256}$")
MAX_OBJECT_NAME_BYTES = 1024
MAX_PART_NUMBER = 10000
OBJECT_FIELDS = ("name", "size", "etag", "timeCreated", "md5", "timeModified", "storageTier",
                 "archivalState")
VERSION_FIELDS = (*OBJECT_FIELDS, "versionId", "isDeleteMarker")
# Headers stored with an object and given back on GET/HEAD.
_CONTENT_HEADERS = ("content-type", "content-language", "content-encoding",
                    "content-disposition", "cache-control")

StorageTier = Literal["Standard", "InfrequentAccess", "Archive"]
STORAGE_TIERS = ("Standard", "InfrequentAccess", "Archive")
# OCI sends archivalState only for objects in the Archive tier.
ARCHIVED = "Archived"
RESTORED = "Restored"

EVENT_CREATE = "com.oraclecloud.objectstorage.createobject"
EVENT_UPDATE = "com.oraclecloud.objectstorage.updateobject"
EVENT_DELETE = "com.oraclecloud.objectstorage.deleteobject"


class CreateBucketDetails(Wire):
    name: str
    compartment_id: str
    metadata: dict[str, str] | None = None
    public_access_type: Literal["NoPublicAccess", "ObjectRead", "ObjectReadWithoutList"] = (
        "NoPublicAccess")
    # A bucket's tier is fixed at creation: Standard, or Archive for archive buckets.
    storage_tier: Literal["Standard", "Archive"] = "Standard"
    object_events_enabled: bool = False
    freeform_tags: dict[str, str] | None = None
    defined_tags: dict[str, dict[str, Any]] | None = None
    kms_key_id: str | None = None
    versioning: Literal["Enabled", "Disabled"] = "Disabled"
    auto_tiering: Literal["Disabled", "InfrequentAccess"] = "Disabled"


class UpdateBucketDetails(Wire):
    namespace: str | None = None
    compartment_id: str | None = None
    name: str | None = None
    metadata: dict[str, str] | None = None
    public_access_type: Literal["NoPublicAccess", "ObjectRead",
                                "ObjectReadWithoutList"] | None = None
    object_events_enabled: bool | None = None
    freeform_tags: dict[str, str] | None = None
    defined_tags: dict[str, dict[str, Any]] | None = None
    kms_key_id: str | None = None
    # Once enabled, versioning can only be suspended, never disabled.
    versioning: Literal["Enabled", "Suspended"] | None = None
    auto_tiering: Literal["Disabled", "InfrequentAccess"] | None = None


class CreateMultipartUploadDetails(Wire):
    object: str
    content_type: str | None = None
    content_language: str | None = None
    content_encoding: str | None = None
    content_disposition: str | None = None
    cache_control: str | None = None
    storage_tier: StorageTier | None = None
    metadata: dict[str, str] | None = None


class CommitPart(Wire):
    part_num: int = Field(ge=1, le=MAX_PART_NUMBER)
    etag: str


class CommitMultipartUploadDetails(Wire):
    parts_to_commit: list[CommitPart]
    parts_to_exclude: list[int] | None = None


class RenameObjectDetails(Wire):
    source_name: str
    new_name: str
    src_obj_if_match_e_tag: str | None = None
    new_obj_if_match_e_tag: str | None = None
    new_obj_if_none_match_e_tag: str | None = None


class CopyObjectDetails(Wire):
    source_object_name: str
    source_object_if_match_e_tag: str | None = None
    source_version_id: str | None = None
    destination_region: str
    destination_namespace: str
    destination_bucket: str
    destination_object_name: str
    destination_object_if_match_e_tag: str | None = None
    destination_object_if_none_match_e_tag: str | None = None
    destination_object_metadata: dict[str, str] | None = None
    destination_object_storage_tier: StorageTier | None = None


class UpdateObjectStorageTierDetails(Wire):
    object_name: str
    storage_tier: StorageTier
    version_id: str | None = None


class RestoreObjectsDetails(Wire):
    object_name: str
    hours: int | None = Field(default=None, ge=1, le=240)
    version_id: str | None = None


def object_fields(obj: dict[str, Any], fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """An object's summary with the requested fields that it has a value for."""
    out = {f: obj.get(f) for f in fields}
    if "archivalState" in out and obj.get("storageTier") != "Archive":
        out["archivalState"] = None  # older state files stored "Available"
    return {k: v for k, v in out.items() if v is not None}


def _http_date(iso: str) -> str:
    from datetime import datetime

    return email.utils.format_datetime(datetime.fromisoformat(iso.replace("Z", "+00:00")),
                                       usegmt=True)


def _etag_matches(header: str, etag: str | None) -> bool:
    if etag is None:
        return False
    wanted = [t.strip().strip('"') for t in header.split(",")]
    return "*" in wanted or etag in wanted
