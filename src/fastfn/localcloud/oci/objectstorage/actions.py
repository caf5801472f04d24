"""Object actions: rename, storage tier changes and restoring archived objects."""

from __future__ import annotations

from typing import Any

from fastfn.localcloud.oci.core.errors import invalid
from fastfn.localcloud.oci.core.ids import now, rfc3339
from fastfn.localcloud.oci.objectstorage.backend import Backend, check_name, if_match_failed
from fastfn.localcloud.oci.objectstorage.models import (
    ARCHIVED,
    BUCKET,
    OBJECT,
    OBJECT_VERSION,
    RenameObjectDetails,
    RestoreObjectsDetails,
    UpdateObjectStorageTierDetails,
    _etag_matches,
)

Doc = dict[str, Any]


class Actions:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.store = backend.store
        self.blobs = backend.blobs


    def rename(self, bucket: Doc, details: RenameObjectDetails) -> Doc:
        source, target = check_name(details.source_name), check_name(details.new_name)
        with self.store.transaction() as store:
            obj = store.get(OBJECT, f"{bucket['id']}/{source}")
            if obj is None:
                raise self.backend.missing_object(bucket, source)
            if (details.src_obj_if_match_e_tag is not None
                    and not _etag_matches(details.src_obj_if_match_e_tag, obj["etag"])):
                raise if_match_failed()
            if source == target:
                return obj
            existing = store.get(OBJECT, f"{bucket['id']}/{target}")
            self.backend.check_write_preconditions(existing, bucket, target,
                                           details.new_obj_if_match_e_tag,
                                           details.new_obj_if_none_match_e_tag)
            versioned = (store.get(BUCKET, bucket["id"]) or bucket).get("versioning")
            replaced = None
            if existing is not None:
                if versioned == "Enabled":
                    self.backend.keep_version(store, existing)
                else:
                    replaced = existing["blob"]
            store.delete(OBJECT, f"{bucket['id']}/{source}")
            renamed = {**obj, "name": target, "timeModified": rfc3339(now())}
            store.put(OBJECT, f"{bucket['id']}/{target}", renamed, parent=bucket["id"],
                      name=target)
            self.backend.promote(store, bucket, source)
        if replaced is not None:
            self.blobs.remove(replaced)
        return renamed

    def _update_current(self, bucket: Doc, name: str, version_id: str | None,
                        change: dict[str, Any]) -> Doc:
        check_name(name)
        with self.store.transaction() as store:
            obj = self.backend.object(bucket, name, version_id)
            obj.update(change)
            if obj.get("storageTier") != "Archive":
                obj.pop("archivalState", None)
            key = f"{bucket['id']}/{name}"
            current = store.get(OBJECT, key)
            if current is not None and current.get("versionId") == obj.get("versionId"):
                store.put(OBJECT, key, obj, parent=bucket["id"], name=name)
            else:
                store.put(OBJECT_VERSION, f"{bucket['id']}/{obj['versionId']}", obj,
                          parent=bucket["id"], name=name)
        return obj

    def update_tier(self, bucket: Doc, details: UpdateObjectStorageTierDetails) -> Doc:
        if bucket.get("storageTier") == "Archive":
            raise invalid("Objects in an Archive bucket stay in the Archive tier.")
        change: dict[str, Any] = {"storageTier": details.storage_tier}
        if details.storage_tier == "Archive":
            change["archivalState"] = ARCHIVED
        return self._update_current(bucket, details.object_name, details.version_id, change)

    def restore(self, bucket: Doc, details: RestoreObjectsDetails) -> Doc:
        obj = self.backend.object(bucket, details.object_name, details.version_id)
        if obj.get("storageTier") != "Archive":
            raise invalid(f"The object '{obj['name']}' is not archived.")
        # OCI takes about an hour; the local cloud restores at once.
        return self._update_current(bucket, details.object_name, details.version_id,
                                    {"archivalState": "Restored"})
