"""Deploy leases in S3 (`deploy/lease.py`'s `LeaseStore`): PutObject with
`If-None-Match: *` to create, `If-Match: <etag>` to renew and take over (412 when the
condition fails), in the stage's bucket under `_fastfn-locks/`. The bucket is made on
first use (private, public access blocked)."""

from __future__ import annotations

from typing import Any

PREFIX = "_fastfn-locks/"


def ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        return
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})


def _status(exc: Exception) -> int:
    return int(getattr(exc, "response", {}).get("ResponseMetadata", {}).get(
        "HTTPStatusCode") or 0)


class S3Leases:
    def __init__(self, s3: Any, bucket: str, region: str) -> None:
        self.s3, self.bucket, self.region = s3, bucket, region
        self._ready = False

    def _key(self, name: str) -> str:
        if not self._ready:
            ensure_bucket(self.s3, self.bucket, self.region)
            self._ready = True
        return PREFIX + name

    def where(self, name: str) -> str:
        return f"s3://{self.bucket}/{PREFIX}{name}"

    def _put(self, name: str, body: bytes, **condition: str) -> str | None:
        try:
            got = self.s3.put_object(Bucket=self.bucket, Key=self._key(name), Body=body,
                                     ContentType="application/json", **condition)
        except Exception as exc:
            if _status(exc) in (404, 409, 412):  # the condition failed
                return None
            raise
        return str(got["ETag"])

    def create(self, name: str, body: bytes) -> str | None:
        return self._put(name, body, IfNoneMatch="*")

    def read(self, name: str) -> tuple[bytes, str] | None:
        try:
            got = self.s3.get_object(Bucket=self.bucket, Key=self._key(name))
        except Exception as exc:
            if _status(exc) == 404:
                return None
            raise
        return got["Body"].read(), str(got["ETag"])

    def replace(self, name: str, body: bytes, etag: str) -> str | None:
        return self._put(name, body, IfMatch=etag)

    def delete(self, name: str, etag: str) -> None:
        found = self.read(name)
        if found is not None and found[1] == etag:
            self.s3.delete_object(Bucket=self.bucket, Key=self._key(name))
