"""Object Storage: buckets, objects and their versions, multipart uploads, copies.

models.py: wire models and limits; blobs.py: object bytes on disk; backend.py: buckets,
objects, versions and actions as plain methods; multipart.py: multipart uploads;
copying.py: CopyObject and its work requests; api.py: the thin REST routes."""
