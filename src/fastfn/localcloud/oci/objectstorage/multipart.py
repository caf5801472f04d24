"""Multipart uploads: create, upload parts, commit (or abort), list uploads and parts.

Parts are blobs of their own until the commit concatenates the committed ones, in part
number order, into the object's blob. The object's md5 is then OCI's multipart form:
the MD5 of the parts' MD5s and the part count (`opc-multipart-md5`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable
from typing import Any

from fastfn.localcloud.oci.core.errors import OCIError, invalid
from fastfn.localcloud.oci.core.ids import now, rfc3339
from fastfn.localcloud.oci.objectstorage.backend import Backend, WriteOptions, check_name
from fastfn.localcloud.oci.objectstorage.blobs import multipart_md5
from fastfn.localcloud.oci.objectstorage.models import (
    MAX_PART_NUMBER,
    OBJECT,
    UPLOAD,
    UPLOAD_PART,
    CommitMultipartUploadDetails,
    CreateMultipartUploadDetails,
)

Doc = dict[str, Any]

UPLOAD_FIELDS = ("namespace", "bucket", "object", "uploadId", "timeCreated", "storageTier")
PART_FIELDS = ("partNumber", "etag", "md5", "size")


def _no_upload(upload_id: str) -> OCIError:
    return OCIError(404, "NoSuchUpload", f"The upload '{upload_id}' does not exist.")


def part_number(raw: str | None) -> int:
    if raw is None:
        raise OCIError(400, "MissingParameter", "Missing parameter: uploadPartNum")
    try:
        num = int(raw)
    except ValueError:
        raise invalid("uploadPartNum must be an integer.") from None
    if not 1 <= num <= MAX_PART_NUMBER:
        raise invalid(f"uploadPartNum must be between 1 and {MAX_PART_NUMBER}.")
    return num


class Multipart:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.store = backend.store
        self.blobs = backend.blobs

    def create(self, bucket: Doc, details: CreateMultipartUploadDetails,
               if_match: str | None, if_none_match: str | None) -> Doc:
        name = check_name(details.object)
        tier = self.backend.tier_for(bucket, details.storage_tier)
        self.backend.check_write_preconditions(
            self.store.get(OBJECT, f"{bucket['id']}/{name}"), bucket, name, if_match,
            if_none_match)
        content = {h: v for h, v in (
            ("content-type", details.content_type),
            ("content-language", details.content_language),
            ("content-encoding", details.content_encoding),
            ("content-disposition", details.content_disposition),
            ("cache-control", details.cache_control)) if v is not None}
        upload = {
            "namespace": bucket["namespace"], "bucket": bucket["name"], "object": name,
            "uploadId": str(uuid.uuid4()), "timeCreated": rfc3339(now()),
            "storageTier": tier, "bucketId": bucket["id"], "content": content,
            "meta": {k.removeprefix("opc-meta-"): v
                     for k, v in (details.metadata or {}).items()},
            "ifMatch": if_match, "ifNoneMatch": if_none_match,
        }
        self.store.put(UPLOAD, upload["uploadId"], upload, parent=bucket["id"], name=name)
        return upload

    def upload(self, bucket: Doc, name: str, upload_id: str | None) -> Doc:
        if not upload_id:
            raise OCIError(400, "MissingParameter", "Missing parameter: uploadId")
        found = self.store.get(UPLOAD, upload_id)
        if found is None or found["bucketId"] != bucket["id"] or found["object"] != name:
            raise _no_upload(upload_id)
        return found

    async def upload_part(self, bucket: Doc, name: str, upload_id: str | None, num: int,
                          chunks: AsyncIterable[bytes], declared: int | None,
                          content_md5: str | None) -> Doc:
        upload = self.upload(bucket, name, upload_id)
        written = await self.blobs.write(chunks, declared, content_md5)
        part = {"partNumber": num, "etag": str(uuid.uuid4()), "md5": written.md5,
                "size": written.size, "blob": written.blob, "md5Raw": written.md5_raw.hex()}
        key = f"{upload['uploadId']}/{num:05d}"
        try:
            with self.store.transaction() as store:
                if store.get(UPLOAD, upload["uploadId"]) is None:
                    raise _no_upload(upload["uploadId"])
                old = store.get(UPLOAD_PART, key)
                store.put(UPLOAD_PART, key, part, parent=upload["uploadId"],
                          name=f"{num:05d}")
        except BaseException:
            self.blobs.remove(written.blob)
            raise
        if old is not None:
            self.blobs.remove(old["blob"])
        return part

    def parts(self, bucket: Doc, name: str, upload_id: str | None) -> list[Doc]:
        upload = self.upload(bucket, name, upload_id)
        return self.store.find(UPLOAD_PART, parent=upload["uploadId"])

    def uploads(self, bucket: Doc) -> list[Doc]:
        return sorted(self.store.find(UPLOAD, parent=bucket["id"]),
                      key=lambda u: (u["object"], u["timeCreated"]))

    def commit(self, bucket: Doc, name: str, upload_id: str | None,
               details: CommitMultipartUploadDetails, if_match: str | None,
               if_none_match: str | None) -> Doc:
        upload = self.upload(bucket, name, upload_id)
        stored = {p["partNumber"]: p for p in self.parts(bucket, name, upload_id)}
        wanted = sorted(details.parts_to_commit, key=lambda p: p.part_num)
        if not wanted:
            raise invalid("partsToCommit must name at least one part.")
        nums = [p.part_num for p in wanted]
        if len(set(nums)) != len(nums):
            raise invalid("partsToCommit names a part more than once.")
        excluded = set(details.parts_to_exclude or ())
        if excluded & set(nums):
            raise invalid("A part cannot be both committed and excluded.")
        for want in wanted:
            have = stored.get(want.part_num)
            if have is None:
                raise invalid(f"Part {want.part_num} of upload {upload['uploadId']} was "
                              "never uploaded.")
            if want.etag.strip('"') != have["etag"]:
                raise invalid(f"The ETag given for part {want.part_num} does not match the "
                              "uploaded part.")
        unlisted = set(stored) - set(nums) - excluded
        if unlisted:
            raise invalid("Every uploaded part must be committed or excluded; not listed: "
                          f"{', '.join(str(n) for n in sorted(unlisted))}.")
        parts = [stored[n] for n in nums]
        written = self.blobs.concat(p["blob"] for p in parts)
        opts = WriteOptions(if_match=if_match or upload.get("ifMatch"),
                            if_none_match=if_none_match or upload.get("ifNoneMatch"),
                            content=upload["content"], meta=upload["meta"])
        digest = multipart_md5(bytes.fromhex(p["md5Raw"]) for p in parts)
        obj = self.backend.store_object(bucket, name, written, opts, upload["storageTier"],
                                        multipart_md5=digest)
        self._drop(upload["uploadId"], list(stored.values()))
        return obj

    def abort(self, bucket: Doc, name: str, upload_id: str | None) -> None:
        upload = self.upload(bucket, name, upload_id)
        self._drop(upload["uploadId"], self.store.find(UPLOAD_PART, parent=upload["uploadId"]))

    def _drop(self, upload_id: str, parts: list[Doc]) -> None:
        with self.store.transaction() as store:
            for part in parts:
                store.delete(UPLOAD_PART, f"{upload_id}/{part['partNumber']:05d}")
            store.delete(UPLOAD, upload_id)
        self.blobs.remove(*(p["blob"] for p in parts))
