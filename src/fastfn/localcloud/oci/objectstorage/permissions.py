"""Object Storage operations -> permissions (Oracle's "Details for Object Storage").

A denied bucket or object call answers as OCI does: 404 BucketNotFound naming the bucket
("Either the bucket named 'X' does not exist in the namespace 'N' or you are not
authorized to access it"), never telling a missing bucket from a forbidden one. PutObject
needs OBJECT_CREATE for a new name and OBJECT_OVERWRITE for an existing one.
GetNamespace needs no permission. Multipart uploads need what a put needs (create, or
overwrite for an existing name); copy needs OBJECT_READ on the source bucket and create
at the destination; work requests are checked in their compartment (OBJECTSTORAGE work
requests: by analogy with the copy's source, OBJECT_READ; not verified against Oracle's
table). Left out: PARs, retention rules (the local service has none).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from fastfn.localcloud.oci.core.authz import Rule, Target, in_body, in_query
from fastfn.localcloud.oci.core.errors import OCIError
from fastfn.localcloud.oci.objectstorage.models import OBJECT

OBJ = "/n/{namespace}/b/{bucket}/o/{object:path}"
UPLOAD = "/n/{namespace}/b/{bucket}/u/{object:path}"
B = "/n/{namespace}/b/{bucket}"
WORK = "/workRequests/{id}"


def bucket_denied(request: Request) -> OCIError:
    return OCIError(404, "BucketNotFound",
                    f"Either the bucket named '{request.path_params.get('bucket', '')}' does "
                    f"not exist in the namespace '{request.path_params.get('namespace', '')}' "
                    "or you are not authorized to access it")


def namespace_denied(request: Request) -> OCIError:
    ns = request.path_params.get("namespace", "")
    return OCIError(404, "NamespaceNotFound",
                    f"You do not have authorization to perform this request, or the "
                    f"requested namespace {ns} was not found.")


async def _bucket(service: Any, request: Request) -> Target | None:
    bucket = service.bucket(request)  # a missing bucket is its own BucketNotFound
    return Target(bucket["compartmentId"], {"target.bucket.name": bucket["name"]})


async def _put_object(service: Any, request: Request) -> Target | None:
    bucket = service.bucket(request)
    exists = service.ctx.store.get(OBJECT,
                                   f"{bucket['id']}/{request.path_params['object']}")
    return Target(bucket["compartmentId"], {"target.bucket.name": bucket["name"]},
                  ("OBJECT_OVERWRITE",) if exists else ("OBJECT_CREATE",),
                  "PutObject.overwrite" if exists else "PutObject.create")


async def _upload(service: Any, request: Request) -> Target | None:
    # An upload's parts and commit write the object named in the path.
    return await _put_object(service, request)


async def _work_request(service: Any, request: Request) -> Target | None:
    try:
        work = service.copies.work_request(request.path_params["id"])
    except OCIError:
        return None  # the handler's own 404
    return Target(work["compartmentId"])


async def _namespace(service: Any, request: Request) -> Target | None:
    service._namespace(request)
    return Target(service.ctx.identity.tenancy_id)


def _bucket_rule(op: str, rtype: str, *perms: str) -> Rule:
    return Rule(op, rtype, perms, _bucket, bucket_denied)


RULES: dict[str, Rule] = {
    "GET /n": Rule("GetNamespace", "objectstorage-namespaces", (), None),
    "GET /n/": Rule("GetNamespace", "objectstorage-namespaces", (), None),
    "GET /n/{namespace}": Rule("GetNamespaceMetadata", "objectstorage-namespaces",
                               ("NAMESPACE_READ",), _namespace, namespace_denied),
    "POST /n/{namespace}/b": Rule("CreateBucket", "buckets", ("BUCKET_CREATE",), in_body()),
    "POST /n/{namespace}/b/": Rule("CreateBucket", "buckets", ("BUCKET_CREATE",), in_body()),
    "GET /n/{namespace}/b": Rule("ListBuckets", "buckets", ("BUCKET_INSPECT",), in_query()),
    "GET /n/{namespace}/b/": Rule("ListBuckets", "buckets", ("BUCKET_INSPECT",), in_query()),
    f"GET {B}": _bucket_rule("GetBucket", "buckets", "BUCKET_READ"),
    f"HEAD {B}": _bucket_rule("HeadBucket", "buckets", "BUCKET_INSPECT"),
    f"POST {B}": _bucket_rule("UpdateBucket", "buckets", "BUCKET_UPDATE"),
    f"DELETE {B}": _bucket_rule("DeleteBucket", "buckets", "BUCKET_DELETE"),
    f"GET {B}/o": _bucket_rule("ListObjects", "objects", "OBJECT_INSPECT"),
    f"GET {B}/o/": _bucket_rule("ListObjects", "objects", "OBJECT_INSPECT"),
    f"PUT {OBJ}": Rule("PutObject", "objects", ("OBJECT_CREATE",), _put_object, bucket_denied),
    f"GET {OBJ}": _bucket_rule("GetObject", "objects", "OBJECT_READ"),
    f"HEAD {OBJ}": _bucket_rule("HeadObject", "objects", "OBJECT_INSPECT"),
    f"DELETE {OBJ}": _bucket_rule("DeleteObject", "objects", "OBJECT_DELETE"),
    f"GET {B}/objectversions": _bucket_rule("ListObjectVersions", "objects", "OBJECT_INSPECT"),
    f"POST {B}/actions/renameObject": _bucket_rule("RenameObject", "objects", "OBJECT_CREATE",
                                                   "OBJECT_OVERWRITE"),
    f"POST {B}/actions/copyObject": _bucket_rule("CopyObject", "objects", "OBJECT_READ"),
    f"POST {B}/actions/updateObjectStorageTier": _bucket_rule(
        "UpdateObjectStorageTier", "objects", "OBJECT_UPDATE_TIER"),
    f"POST {B}/actions/restoreObjects": _bucket_rule("RestoreObjects", "objects",
                                                     "OBJECT_RESTORE"),
    f"POST {B}/u": _bucket_rule("CreateMultipartUpload", "objects", "OBJECT_CREATE"),
    f"GET {B}/u": _bucket_rule("ListMultipartUploads", "objects", "OBJECT_INSPECT"),
    f"PUT {UPLOAD}": Rule("UploadPart", "objects", ("OBJECT_CREATE",), _upload, bucket_denied),
    f"GET {UPLOAD}": _bucket_rule("ListMultipartUploadParts", "objects", "OBJECT_INSPECT"),
    f"POST {UPLOAD}": Rule("CommitMultipartUpload", "objects", ("OBJECT_CREATE",), _upload,
                           bucket_denied),
    f"DELETE {UPLOAD}": _bucket_rule("AbortMultipartUpload", "objects", "OBJECT_DELETE"),
    "GET /workRequests": Rule("ListWorkRequests", "objects", ("OBJECT_READ",), in_query()),
    f"GET {WORK}": Rule("GetWorkRequest", "objects", ("OBJECT_READ",), _work_request),
    f"GET {WORK}/errors": Rule("ListWorkRequestErrors", "objects", ("OBJECT_READ",),
                               _work_request),
    f"GET {WORK}/logs": Rule("ListWorkRequestLogs", "objects", ("OBJECT_READ",),
                             _work_request),
}
