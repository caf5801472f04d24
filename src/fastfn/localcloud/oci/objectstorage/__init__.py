"""Object Storage: buckets, objects and their versions, multipart uploads, copies.

models.py: wire models and limits; blobs.py: object bytes on disk; backend.py: buckets,
objects and versions as plain methods; listing.py, actions.py (rename, tiers,
restore); multipart.py: multipart uploads;
copying.py: CopyObject and its work requests; api.py: the thin REST routes."""
