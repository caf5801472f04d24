"""Serving the app over TCP on a VM (OCI instance pools): uvicorn, with graceful drain."""
