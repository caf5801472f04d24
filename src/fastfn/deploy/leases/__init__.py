"""Lease stores for `deploy.lease`: one module per cloud's conditional writes (OCI Object
Storage for the oci and pool targets, S3 for aws)."""
