"""Object Storage through the real oci SDK."""

from __future__ import annotations

import base64
import hashlib
import os

import oci
import pytest
from oci.object_storage.models import CreateBucketDetails, UpdateBucketDetails

from fastfn.localcloud.oci import LocalCloud


@pytest.fixture
def storage(cloud: LocalCloud) -> oci.object_storage.ObjectStorageClient:
    return cloud.client(oci.object_storage.ObjectStorageClient)


def make_bucket(cloud: LocalCloud, storage: oci.object_storage.ObjectStorageClient,
                name: str = "data", **kw: object) -> str:
    storage.create_bucket(cloud.namespace, CreateBucketDetails(
        name=name, compartment_id=cloud.compartment_id, **kw))
    return name


def service_error(call, *args, **kwargs) -> oci.exceptions.ServiceError:  # type: ignore[no-untyped-def]
    with pytest.raises(oci.exceptions.ServiceError) as info:
        call(*args, retry_strategy=oci.retry.NoneRetryStrategy(), **kwargs)
    return info.value


def test_namespace_and_bucket(cloud: LocalCloud, storage) -> None:  # type: ignore[no-untyped-def]
    assert storage.get_namespace().data == cloud.namespace
    created = storage.create_bucket(cloud.namespace, CreateBucketDetails(
        name="reports", compartment_id=cloud.compartment_id, object_events_enabled=True,
        freeform_tags={"team": "a"})).data
    assert isinstance(created, oci.object_storage.models.Bucket)
    assert created.object_events_enabled is True
    assert created.id.startswith("ocid1.bucket.oc1.")
    got = storage.get_bucket(cloud.namespace, "reports").data
    assert (got.name, got.compartment_id, got.freeform_tags) == (
        "reports", cloud.compartment_id, {"team": "a"})
    updated = storage.update_bucket(cloud.namespace, "reports",
                                    UpdateBucketDetails(object_events_enabled=False)).data
    assert updated.object_events_enabled is False
    assert updated.etag != got.etag

    err = service_error(storage.create_bucket, cloud.namespace, CreateBucketDetails(
        name="reports", compartment_id=cloud.compartment_id))
    assert (err.status, err.code) == (409, "BucketAlreadyExists")
    assert err.request_id
    err = service_error(storage.get_bucket, cloud.namespace, "nope")
    assert (err.status, err.code) == (404, "BucketNotFound")
    err = service_error(storage.create_bucket, cloud.namespace, CreateBucketDetails(
        name="bad name!", compartment_id=cloud.compartment_id))
    assert (err.status, err.code) == (400, "InvalidParameter")


def test_object_round_trip_with_metadata(cloud: LocalCloud, storage) -> None:  # type: ignore[no-untyped-def]
    bucket = make_bucket(cloud, storage)
    body = b"\x00\x01binary\xff" * 100
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    put = storage.put_object(cloud.namespace, bucket, "dir/é x.bin", body, content_md5=md5,
                             content_type="application/x-thing",
                             opc_meta={"owner": "ana", "kind": "test"})
    assert put.headers["opc-content-md5"] == md5
    etag = put.headers["etag"]

    got = storage.get_object(cloud.namespace, bucket, "dir/é x.bin")
    assert got.data.content == body
    assert got.headers["etag"] == etag
    assert got.headers["content-md5"] == md5
    assert got.headers["content-type"] == "application/x-thing"
    assert got.headers["opc-meta-owner"] == "ana"
    assert int(got.headers["content-length"]) == len(body)

    head = storage.head_object(cloud.namespace, bucket, "dir/é x.bin")
    assert head.headers["etag"] == etag
    assert head.headers["opc-meta-kind"] == "test"

    part = storage.get_object(cloud.namespace, bucket, "dir/é x.bin", range="bytes=2-7")
    assert part.status == 206
    assert part.data.content == body[2:8]

    storage.delete_object(cloud.namespace, bucket, "dir/é x.bin")
    err = service_error(storage.get_object, cloud.namespace, bucket, "dir/é x.bin")
    assert (err.status, err.code) == (404, "ObjectNotFound")


def test_conditional_requests(cloud: LocalCloud, storage) -> None:  # type: ignore[no-untyped-def]
    bucket = make_bucket(cloud, storage)
    first = storage.put_object(cloud.namespace, bucket, "o", b"one").headers["etag"]

    err = service_error(storage.put_object, cloud.namespace, bucket, "o", b"two",
                        if_none_match="*")
    assert (err.status, err.code) == (412, "IfNoneMatchFailed")
    err = service_error(storage.put_object, cloud.namespace, bucket, "o", b"two",
                        if_match="not-the-etag")
    assert (err.status, err.code) == (412, "IfMatchFailed")
    assert storage.get_object(cloud.namespace, bucket, "o").data.content == b"one"

    second = storage.put_object(cloud.namespace, bucket, "o", b"two",
                                if_match=first).headers["etag"]
    assert second != first
    err = service_error(storage.get_object, cloud.namespace, bucket, "o", if_match=first)
    assert err.status == 412
    # The SDK raises on 304 Not Modified, as it does against the real service.
    err = service_error(storage.get_object, cloud.namespace, bucket, "o", if_none_match=second)
    assert err.status == 304
    err = service_error(storage.delete_object, cloud.namespace, bucket, "o", if_match=first)
    assert err.status == 412
    storage.delete_object(cloud.namespace, bucket, "o", if_match=second)
    new = storage.put_object(cloud.namespace, bucket, "o", b"three", if_none_match="*")
    assert new.status == 200


def test_bad_input_is_refused_in_oci_shape(cloud: LocalCloud, storage) -> None:  # type: ignore[no-untyped-def]
    bucket = make_bucket(cloud, storage)
    wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    err = service_error(storage.put_object, cloud.namespace, bucket, "o", b"data",
                        content_md5=wrong_md5)
    assert err.status == 400
    err = service_error(storage.head_object, cloud.namespace, bucket, "o")
    assert err.status == 404  # the refused upload left nothing behind
    storage.put_object(cloud.namespace, bucket, "o", b"data")
    err = service_error(storage.delete_bucket, cloud.namespace, bucket)
    assert (err.status, err.code) == (409, "BucketNotEmpty")
    err = service_error(storage.list_objects, cloud.namespace, bucket, limit=0)
    assert (err.status, err.code) == (400, "InvalidParameter")
    err = service_error(storage.get_object, "othernamespace", bucket, "o")
    assert err.status == 404


def test_list_objects_pagination_and_prefixes(cloud: LocalCloud, storage) -> None:  # type: ignore[no-untyped-def]
    bucket = make_bucket(cloud, storage)
    names = [f"logs/{i:03d}.txt" for i in range(25)] + ["a.txt", "img/1.png", "img/2.png"]
    for name in names:
        storage.put_object(cloud.namespace, bucket, name, name.encode())

    seen: list[str] = []
    start = None
    pages = 0
    while True:
        kwargs = {"start": start} if start else {}
        page = storage.list_objects(cloud.namespace, bucket, limit=10,
                                    fields="name,size,md5", **kwargs).data
        pages += 1
        seen += [o.name for o in page.objects]
        assert all(o.size == len(o.name) for o in page.objects)
        if page.next_start_with is None:
            break
        start = page.next_start_with
    assert pages == 3
    assert seen == sorted(names)

    everything = oci.pagination.list_call_get_all_results(
        storage.list_objects, cloud.namespace, bucket, limit=7).data
    assert [o.name for o in everything.objects] == sorted(names)

    top = storage.list_objects(cloud.namespace, bucket, delimiter="/").data
    assert [o.name for o in top.objects] == ["a.txt"]
    assert top.prefixes == ["img/", "logs/"]
    sub = storage.list_objects(cloud.namespace, bucket, prefix="img/").data
    assert [o.name for o in sub.objects] == ["img/1.png", "img/2.png"]
    after = storage.list_objects(cloud.namespace, bucket, start_after="logs/023.txt").data
    assert [o.name for o in after.objects] == ["logs/024.txt"]


def test_list_buckets_pages_with_opc_next_page(cloud: LocalCloud, storage) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        make_bucket(cloud, storage, f"b{i}")
    first = storage.list_buckets(cloud.namespace, cloud.compartment_id, limit=2)
    assert len(first.data) == 2
    assert first.next_page
    all_buckets = oci.pagination.list_call_get_all_results(
        storage.list_buckets, cloud.namespace, cloud.compartment_id, limit=2).data
    assert sorted(b.name for b in all_buckets) == [f"b{i}" for i in range(5)]


def test_large_binary_object_streams(cloud: LocalCloud, storage, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bucket = make_bucket(cloud, storage)
    source = tmp_path / "big.bin"
    size = 50 * 1024 * 1024
    digest = hashlib.sha256()
    with open(source, "wb") as out:
        for _ in range(size // (1024 * 1024)):
            chunk = os.urandom(1024 * 1024)
            digest.update(chunk)
            out.write(chunk)
    with open(source, "rb") as body:
        storage.put_object(cloud.namespace, bucket, "big.bin", body)
    head = storage.head_object(cloud.namespace, bucket, "big.bin")
    assert int(head.headers["content-length"]) == size

    got = storage.get_object(cloud.namespace, bucket, "big.bin")
    received = hashlib.sha256()
    total = 0
    for chunk in got.data.raw.stream(1024 * 1024, decode_content=False):
        received.update(chunk)
        total += len(chunk)
    assert total == size
    assert received.hexdigest() == digest.hexdigest()
