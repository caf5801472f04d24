"""Deploy leases in OCI Object Storage: `If-None-Match: *` to create, `If-Match: <etag>`
to renew, take over and release (412 when the condition fails). The same SDK calls reach
the local cloud and real OCI; the bucket is made on first use in the target compartment.
"""

from __future__ import annotations

from typing import Any

BUCKET = "fastfn-deploy-locks"


class ObjectStorageLeases:
    def __init__(self, client: Any, compartment_id: str, bucket: str = BUCKET) -> None:
        self.client = client  # an oci ObjectStorageClient
        self.compartment_id = compartment_id
        self.bucket = bucket
        self._namespace: str | None = None

    def _ns(self) -> str:
        if self._namespace is None:
            import oci

            self._namespace = self.client.get_namespace().data
            try:
                self.client.create_bucket(self._namespace, oci.object_storage.models.
                                          CreateBucketDetails(name=self.bucket,
                                                              compartment_id=self.compartment_id,
                                                              public_access_type="NoPublicAccess"))
            except oci.exceptions.ServiceError as exc:
                if exc.status != 409:  # 409: it exists already
                    raise
        return self._namespace

    def where(self, name: str) -> str:
        return f"oci://{self.bucket}/{name}"

    def _conditional(self, call: Any, *args: Any, failed: tuple[int, ...] = (409, 412),
                     **kwargs: Any) -> Any:
        import oci

        try:
            return call(*args, **kwargs)
        except oci.exceptions.ServiceError as exc:
            if exc.status in failed:  # the condition failed
                return None
            raise

    def create(self, name: str, body: bytes) -> str | None:
        response = self._conditional(self.client.put_object, self._ns(), self.bucket, name,
                                     body, if_none_match="*",
                                     content_type="application/json")
        return None if response is None else response.headers["etag"]

    def read(self, name: str) -> tuple[bytes, str] | None:
        import oci

        try:
            response = self.client.get_object(self._ns(), self.bucket, name)
        except oci.exceptions.ServiceError as exc:
            if exc.status == 404:
                return None
            raise
        return response.data.content, response.headers["etag"]

    def replace(self, name: str, body: bytes, etag: str) -> str | None:
        # If-Match on an object that is gone is a 404: the lease is not ours any more.
        response = self._conditional(self.client.put_object, self._ns(), self.bucket, name,
                                     body, if_match=etag, content_type="application/json",
                                     failed=(404, 409, 412))
        return None if response is None else response.headers["etag"]

    def delete(self, name: str, etag: str) -> None:
        import oci

        try:
            self.client.delete_object(self._ns(), self.bucket, name, if_match=etag)
        except oci.exceptions.ServiceError as exc:
            if exc.status not in (404, 412):
                raise
