"""ObjectStorage wire models, limits and the rules they check."""

from __future__ import annotations

import email.utils
import re
from typing import Any

from fastfn.localcloud.oci.core.wire import Wire

BUCKET = "bucket"
OBJECT = "object"
CHUNK = 1024 * 1024
_BUCKET_NAME = re.compile(r"^[A-Za-z0-9._-]{1,256}$")
MAX_OBJECT_NAME_BYTES = 1024
OBJECT_FIELDS = ("name", "size", "etag", "timeCreated", "md5", "timeModified", "storageTier",
                 "archivalState")
# Headers stored with an object and given back on GET/HEAD.
_CONTENT_HEADERS = ("content-type", "content-language", "content-encoding",
                    "content-disposition", "cache-control")

EVENT_CREATE = "com.oraclecloud.objectstorage.createobject"
EVENT_UPDATE = "com.oraclecloud.objectstorage.updateobject"
EVENT_DELETE = "com.oraclecloud.objectstorage.deleteobject"


class CreateBucketDetails(Wire):
    name: str
    compartment_id: str
    metadata: dict[str, str] | None = None
    public_access_type: str = "NoPublicAccess"
    storage_tier: str = "Standard"
    object_events_enabled: bool = False
    freeform_tags: dict[str, str] | None = None
    defined_tags: dict[str, dict[str, Any]] | None = None
    kms_key_id: str | None = None
    versioning: str = "Disabled"


class UpdateBucketDetails(Wire):
    name: str | None = None
    compartment_id: str | None = None
    metadata: dict[str, str] | None = None
    public_access_type: str | None = None
    object_events_enabled: bool | None = None
    freeform_tags: dict[str, str] | None = None
    defined_tags: dict[str, dict[str, Any]] | None = None
    versioning: str | None = None


def _http_date(iso: str) -> str:
    from datetime import datetime

    return email.utils.format_datetime(datetime.fromisoformat(iso.replace("Z", "+00:00")),
                                       usegmt=True)


def _etag_matches(header: str, etag: str | None) -> bool:
    if etag is None:
        return False
    wanted = [t.strip().strip('"') for t in header.split(",")]
    return "*" in wanted or etag in wanted
