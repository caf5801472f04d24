"""Object Storage paths beyond put/get through the real oci SDK: multipart uploads
(UploadManager), rename, copy and its work request, versions, storage tiers."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

import oci
import pytest
from oci.object_storage import UploadManager
from oci.object_storage.models import (
    CommitMultipartUploadDetails,
    CommitMultipartUploadPartDetails,
    CopyObjectDetails,
    CreateBucketDetails,
    CreateMultipartUploadDetails,
    RenameObjectDetails,
    UpdateBucketDetails,
    UpdateObjectStorageTierDetails,
)

from fastfn.localcloud.oci import LocalCloud

NONE = oci.retry.NoneRetryStrategy()


@pytest.fixture
def storage(cloud: LocalCloud) -> oci.object_storage.ObjectStorageClient:
    return cloud.client(oci.object_storage.ObjectStorageClient)


def bucket(cloud: LocalCloud, storage, name: str = "data", **kw: object) -> str:  # type: ignore[no-untyped-def]
    storage.create_bucket(cloud.namespace, CreateBucketDetails(
        name=name, compartment_id=cloud.compartment_id, **kw))
    return name


def error(call, *args, **kwargs) -> oci.exceptions.ServiceError:  # type: ignore[no-untyped-def]
    with pytest.raises(oci.exceptions.ServiceError) as info:
        call(*args, retry_strategy=NONE, **kwargs)
    return info.value


def test_upload_manager_multipart_round_trip(cloud: LocalCloud, storage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    name = bucket(cloud, storage)
    data = bytes(range(256)) * 4096 * 3 + b"tail"  # 3 MiB and a bit: four 1 MiB parts
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    manager = UploadManager(storage, allow_parallel_uploads=True, parallel_process_count=2)
    done = manager.upload_file(cloud.namespace, name, "big.bin", str(source),
                               part_size=1024 * 1024, content_type="application/x-big")
    assert done.status == 200
    head = storage.head_object(cloud.namespace, name, "big.bin")
    assert int(head.headers["content-length"]) == len(data)
    assert head.headers["content-type"] == "application/x-big"
    parts = [data[i:i + 1024 * 1024] for i in range(0, len(data), 1024 * 1024)]
    expected = base64.b64encode(hashlib.md5(b"".join(
        hashlib.md5(p).digest() for p in parts)).digest()).decode() + f"-{len(parts)}"
    assert head.headers["opc-multipart-md5"] == expected
    assert "content-md5" not in head.headers
    assert storage.get_object(cloud.namespace, name, "big.bin").data.content == data
    # A stream of unknown length goes up in parts too (the CLI's `--file -`).
    manager.upload_stream(cloud.namespace, name, "streamed", io.BytesIO(data),
                          part_size=1024 * 1024)
    assert storage.get_object(cloud.namespace, name, "streamed").data.content == data
    assert storage.list_multipart_uploads(cloud.namespace, name).data == []


def test_multipart_by_hand_lists_commits_and_aborts(cloud: LocalCloud, storage) -> None:  # type: ignore[no-untyped-def]
    name = bucket(cloud, storage)
    upload = storage.create_multipart_upload(cloud.namespace, name,
                                             CreateMultipartUploadDetails(object="o")).data
    assert isinstance(upload, oci.object_storage.models.MultipartUpload)
    assert (upload.bucket, upload.object, upload.storage_tier) == (name, "o", "Standard")
    etags = {n: storage.upload_part(cloud.namespace, name, "o", upload.upload_id, n,
                                    body).headers["etag"]
             for n, body in ((2, b"world"), (1, b"hello "), (3, b"junk"))}
    listed = storage.list_multipart_uploads(cloud.namespace, name).data
    assert [u.upload_id for u in listed] == [upload.upload_id]
    parts = storage.list_multipart_upload_parts(cloud.namespace, name, "o",
                                                upload.upload_id).data
    assert [(p.part_number, p.size, p.etag) for p in parts] == [
        (1, 6, etags[1]), (2, 5, etags[2]), (3, 4, etags[3])]

    err = error(storage.commit_multipart_upload, cloud.namespace, name, "o", upload.upload_id,
                CommitMultipartUploadDetails(parts_to_commit=[
                    CommitMultipartUploadPartDetails(part_num=1, etag="wrong"),
                    CommitMultipartUploadPartDetails(part_num=2, etag=etags[2])],
                    parts_to_exclude=[3]))
    assert (err.status, err.code) == (400, "InvalidParameter")
    assert "part 1" in err.message
    err = error(storage.commit_multipart_upload, cloud.namespace, name, "o", upload.upload_id,
                CommitMultipartUploadDetails(parts_to_commit=[
                    CommitMultipartUploadPartDetails(part_num=1, etag=etags[1])]))
    assert err.status == 400 and "2, 3" in err.message  # parts neither committed nor excluded
    storage.commit_multipart_upload(
        cloud.namespace, name, "o", upload.upload_id, CommitMultipartUploadDetails(
            parts_to_commit=[CommitMultipartUploadPartDetails(part_num=n, etag=etags[n])
                             for n in (2, 1)], parts_to_exclude=[3]))
    assert storage.get_object(cloud.namespace, name, "o").data.content == b"hello world"
    err = error(storage.list_multipart_upload_parts, cloud.namespace, name, "o",
                upload.upload_id)
    assert (err.status, err.code) == (404, "NoSuchUpload")

    second = storage.create_multipart_upload(cloud.namespace, name,
                                             CreateMultipartUploadDetails(object="p")).data
    storage.upload_part(cloud.namespace, name, "p", second.upload_id, 1, b"x")
    err = error(storage.delete_bucket, cloud.namespace, name)
    assert (err.status, err.code) == (409, "BucketNotEmpty")
    storage.abort_multipart_upload(cloud.namespace, name, "p", second.upload_id)
    assert storage.list_multipart_uploads(cloud.namespace, name).data == []
    err = error(storage.head_object, cloud.namespace, name, "p")
    assert err.status == 404
    err = error(storage.upload_part, cloud.namespace, name, "p", second.upload_id, 0, b"x")
    assert (err.status, err.code) == (400, "InvalidParameter")


def test_rename_and_copy_with_its_work_request(cloud: LocalCloud, storage) -> None:  # type: ignore[no-untyped-def]
    src = bucket(cloud, storage, "src")
    dst = bucket(cloud, storage, "dst")
    storage.put_object(cloud.namespace, src, "a.txt", b"alpha", opc_meta={"k": "v"},
                       content_type="text/plain")
    storage.rename_object(cloud.namespace, src, RenameObjectDetails(source_name="a.txt",
                                                                    new_name="b.txt"))
    assert [o.name for o in storage.list_objects(cloud.namespace, src).data.objects] == [
        "b.txt"]
    err = error(storage.rename_object, cloud.namespace, src,
                RenameObjectDetails(source_name="a.txt", new_name="c.txt"))
    assert (err.status, err.code) == (404, "ObjectNotFound")

    copied = storage.copy_object(cloud.namespace, src, CopyObjectDetails(
        source_object_name="b.txt", destination_region=cloud.region,
        destination_namespace=cloud.namespace, destination_bucket=dst,
        destination_object_name="copy.txt"))
    assert copied.status == 202
    work = storage.get_work_request(copied.headers["opc-work-request-id"]).data
    assert (work.operation_type, work.status, work.percent_complete) == (
        "COPY_OBJECT", "COMPLETED", 100.0)
    assert any(r.action_type == "WRITTEN" and r.metadata["OBJECT"] == "copy.txt"
               for r in work.resources)
    got = storage.get_object(cloud.namespace, dst, "copy.txt")
    assert got.data.content == b"alpha"
    assert (got.headers["opc-meta-k"], got.headers["content-type"]) == ("v", "text/plain")
    # Deleting the source leaves the copy whole.
    storage.delete_object(cloud.namespace, src, "b.txt")
    assert storage.get_object(cloud.namespace, dst, "copy.txt").data.content == b"alpha"

    failed = storage.copy_object(cloud.namespace, dst, CopyObjectDetails(
        source_object_name="copy.txt", destination_region=cloud.region,
        destination_namespace=cloud.namespace, destination_bucket=dst,
        destination_object_name="copy.txt", destination_object_if_none_match_e_tag="*"))
    work = storage.get_work_request(failed.headers["opc-work-request-id"]).data
    assert work.status == "FAILED"
    errors = storage.list_work_request_errors(work.id).data
    assert errors[0].code == "IfNoneMatchFailed"
    err = error(storage.copy_object, cloud.namespace, dst, CopyObjectDetails(
        source_object_name="copy.txt", destination_region="us-ashburn-1",
        destination_namespace=cloud.namespace, destination_bucket=dst,
        destination_object_name="x"))
    assert err.status == 400 and "destinationRegion" in err.message
    err = error(storage.get_work_request, "ocid1.objectstorageworkrequest.oc1..nope")
    assert err.status == 404


def test_versions_kept_listed_read_and_deleted(cloud: LocalCloud, storage) -> None:  # type: ignore[no-untyped-def]
    name = bucket(cloud, storage, versioning="Enabled")
    assert storage.get_bucket(cloud.namespace, name).data.versioning == "Enabled"
    v1 = storage.put_object(cloud.namespace, name, "doc", b"one").headers["version-id"]
    v2 = storage.put_object(cloud.namespace, name, "doc", b"two").headers["version-id"]
    assert v1 != v2
    assert storage.get_object(cloud.namespace, name, "doc").data.content == b"two"
    assert storage.get_object(cloud.namespace, name, "doc",
                              version_id=v1).data.content == b"one"
    versions = storage.list_object_versions(cloud.namespace, name).data.items
    assert [(v.name, v.version_id, v.is_delete_marker) for v in versions] == [
        ("doc", v2, False), ("doc", v1, False)]

    gone = storage.delete_object(cloud.namespace, name, "doc")
    assert gone.headers["is-delete-marker"] == "true"
    assert error(storage.get_object, cloud.namespace, name, "doc").status == 404
    versions = storage.list_object_versions(cloud.namespace, name).data.items
    assert [v.is_delete_marker for v in versions] == [True, False, False]
    assert storage.get_object(cloud.namespace, name, "doc",
                              version_id=v2).data.content == b"two"
    # Deleting the marker by its version id brings the newest version back.
    storage.delete_object(cloud.namespace, name, "doc", version_id=versions[0].version_id)
    assert storage.get_object(cloud.namespace, name, "doc").data.content == b"two"
    storage.delete_object(cloud.namespace, name, "doc", version_id=v2)
    assert storage.get_object(cloud.namespace, name, "doc").data.content == b"one"
    err = error(storage.get_object, cloud.namespace, name, "doc", version_id=v2)
    assert err.status == 404
    err = error(storage.delete_bucket, cloud.namespace, name)
    assert err.code == "BucketNotEmpty"

    # Unversioned buckets keep nothing; versioning cannot be "Disabled" once enabled.
    plain = bucket(cloud, storage, "plain")
    storage.put_object(cloud.namespace, plain, "doc", b"one")
    storage.put_object(cloud.namespace, plain, "doc", b"two")
    assert len(storage.list_object_versions(cloud.namespace, plain).data.items) == 1
    err = error(storage.update_bucket, cloud.namespace, plain,
                UpdateBucketDetails(versioning="Suspended"))
    assert err.status == 400


def test_storage_tiers_and_archival_state(cloud: LocalCloud, storage) -> None:  # type: ignore[no-untyped-def]
    name = bucket(cloud, storage)
    storage.put_object(cloud.namespace, name, "std", b"s")
    storage.put_object(cloud.namespace, name, "ia", b"i", storage_tier="InfrequentAccess")
    listed = {o.name: o for o in storage.list_objects(
        cloud.namespace, name, fields="name,storageTier,archivalState").data.objects}
    assert (listed["std"].storage_tier, listed["ia"].storage_tier) == (
        "Standard", "InfrequentAccess")
    assert listed["std"].archival_state is None  # OCI sends it only for Archive
    head = storage.head_object(cloud.namespace, name, "ia")
    assert head.headers["storage-tier"] == "InfrequentAccess"
    assert "archival-state" not in head.headers

    storage.update_object_storage_tier(cloud.namespace, name, UpdateObjectStorageTierDetails(
        object_name="std", storage_tier="Archive"))
    head = storage.head_object(cloud.namespace, name, "std")
    assert (head.headers["storage-tier"], head.headers["archival-state"]) == (
        "Archive", "Archived")
    err = error(storage.get_object, cloud.namespace, name, "std")
    assert (err.status, err.code) == (409, "NotRestored")
    storage.restore_objects(cloud.namespace, name,
                            oci.object_storage.models.RestoreObjectsDetails(object_name="std"))
    assert storage.get_object(cloud.namespace, name, "std").data.content == b"s"
    err = error(storage.put_object, cloud.namespace, name, "bad", b"x", storage_tier="Cold")
    assert err.status == 400 and "storage-tier" in err.message
